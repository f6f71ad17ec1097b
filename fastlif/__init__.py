"""fastlif: fused multi-timestep LIF neurons for training spiking neural networks fast."""
from . import models, nn, reference, surrogate
from .dispatch import available as backends
from .config import LifConfig
from .functional import lif_sequence
from .neuron import LIFSequence, reset_net
from .ops import cpu_isa

__version__ = "0.1.0"
__all__ = ["lif_sequence", "LIFSequence", "reset_net", "LifConfig", "backends", "cpu_isa", "reference", "surrogate",
           "nn", "models"]
