"""The ACML'23 general SNN (Yao, Wu, Chen, Zhang): a spiking window mixer in a Sequencer2D-style backbone.

windows.py (G1..G4 partition, weighted condense) · threshold.py (region threshold Th_R) · fusion.py (membrane
fusion with radian factor θ) · encoding.py (Bernoulli rate encoding) · synapses.py (CNN / linear / recurrent) ·
cell.py (two LIF layers carried window to window) · block.py (mixer + residual block) · patches.py ·
baselines.py (the supplement's non-spiking ResMLP/ViT token mixers) · model.py.
"""
from .block import MixerBlock, SpikingWindowMixer
from .cell import SpikingWindowCell
from .encoding import rate_encode
from .fusion import fuse, surface_area
from .model import (SpikingMixerNet, resmlp12, spiking_mixer, vit12, spiking_mixer_bilstm, spiking_mixer_gru, spiking_mixer_lstm,
                    spiking_mixer_rnn, spiking_mixer_tiny, window_modes)
from .threshold import region_threshold
from .windows import condense, layout, partition

__all__ = ["SpikingMixerNet", "spiking_mixer", "spiking_mixer_lstm", "spiking_mixer_bilstm", "spiking_mixer_gru",
           "spiking_mixer_rnn", "spiking_mixer_tiny", "resmlp12", "vit12", "SpikingWindowMixer", "MixerBlock", "SpikingWindowCell", "partition", "condense",
           "layout", "region_threshold", "fuse", "surface_area", "rate_encode", "window_modes"]
