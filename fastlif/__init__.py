"""fastlif: fused multi-timestep LIF neurons for training spiking neural networks fast.

Importing ``fastlif`` loads the op, its reference, the neuron module and the functional API only. The model zoo,
the mixer, data sets and training load on first use (``fastlif.models``, ``import fastlif.train``), so a broken
or slow import there never takes the op or its reference down with it."""
import importlib

from . import cpu_cache, reference, surrogate
from .config import LifConfig
from .convert import ConversionReport, convert
from .dispatch import available as backends
from .functional import lif_sequence
from .neuron import LIFSequence, ParametricLIF, reset_net
from .ops import cpu_isa

__version__ = "0.1.0"
__all__ = ["lif_sequence", "LIFSequence", "ParametricLIF", "reset_net", "convert", "LifConfig", "backends", "cpu_isa",
           "cpu_cache", "reference", "surrogate", "nn", "models"]

# Subpackages loaded on first attribute access (PEP 562) rather than at ``import fastlif``.
_LAZY = ("nn", "models", "mixer", "data", "train", "energy", "landscape", "losses", "commands")


def __getattr__(name):
    if name in _LAZY:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
