"""Building blocks for spiking networks on `[T, B, ...]` sequences: time folding, sequence batch norms (tdBN,
TEBN, BNTT), input encoding, the non-spiking readout, BN folding for inference, and ``SpikingNet``, the base of
every model."""
from .batchnorm import BNTT2d, NORMS, RESIDUAL_ALPHA, TdBatchNorm2d, TEBatchNorm2d, make_norm
from .conv import ConvBN
from .direct_encoding import direct_encode, encode
from .fold import TimeFolded, seq_apply
from .merge_bn import StepConv2d, folded_weights, fuse_bn
from .readout import Readout
from .spiking_net import SpikingNet, neuron_options

__all__ = ["TimeFolded", "seq_apply", "TdBatchNorm2d", "TEBatchNorm2d", "BNTT2d", "make_norm", "NORMS",
           "RESIDUAL_ALPHA", "ConvBN", "direct_encode", "encode", "Readout", "fuse_bn", "folded_weights",
           "StepConv2d", "SpikingNet", "neuron_options"]
