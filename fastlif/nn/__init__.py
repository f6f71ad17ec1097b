"""Building blocks for spiking networks on `[T, B, ...]` sequences: time folding, sequence batch norms (tdBN,
TEBN, BNTT), input encoding, the non-spiking readout, BN folding for inference, ``SpikingNet``, the base of
every model, and the time layout each layer is called with (``time_layout``)."""
from .batchnorm import BNTT2d, NORMS, RESIDUAL_ALPHA, TdBatchNorm2d, TEBatchNorm2d, make_norm
from .conv import ConvBN
from .direct_encoding import direct_encode, encode
from .fold import TimeFolded, seq_apply
from .merge_bn import StepConv2d, folded_weights, fuse_bn
from .readout import Readout
from .spiking_net import SpikingNet, neuron_options
from .time_layout import TIME_LAYOUTS, current_time_layout, time_layout

__all__ = ["TimeFolded", "seq_apply", "TdBatchNorm2d", "TEBatchNorm2d", "BNTT2d", "make_norm", "NORMS",
           "RESIDUAL_ALPHA", "ConvBN", "direct_encode", "encode", "Readout", "fuse_bn", "folded_weights",
           "StepConv2d", "SpikingNet", "neuron_options", "time_layout", "current_time_layout", "TIME_LAYOUTS"]
