"""The seeds' spiking networks. Every model maps ``model(x, T=None)`` to per-step outputs `[T, B, classes]`:
a static `[B, C, H, W]` input is repeated T times (the model's default T when None), an event sequence
`[T, B, C, H, W]` is used as given (its frame count must be the model's T unless T is passed). ``batch_first=True``
takes events `[B, T, C, H, W]` and returns `[B, T, classes]`. Neuron options go to every LIF layer through
``neuron=dict(...)``.

    model = fastlif.models.get("resnet19", num_classes=10, T=4, neuron=dict(surrogate="triangle"))
"""
from __future__ import annotations

from torch import nn

from ..mixer import (resmlp12, spiking_mixer, spiking_mixer_bilstm, spiking_mixer_gru, spiking_mixer_lstm,
                     spiking_mixer_rnn, spiking_mixer_tiny, vit12)
from .digits import digits_cnn
from .resnet19 import resnet19
from .resnet34 import sew_resnet34, spiking_resnet34
from .snn5 import snn5
from .vggsnn import vggsnn

_REGISTRY = {
    "resnet19": resnet19,
    "vggsnn": vggsnn,
    "snn5": snn5,
    "spiking_resnet34": spiking_resnet34,
    "sew_resnet34": sew_resnet34,
    "digits_cnn": digits_cnn,
    # ACML'23 window-partitioned spiking mixer (fastlif/mixer) and the supplement's comparison networks.
    "window_snn": spiking_mixer,
    "window_snn_tiny": spiking_mixer_tiny,
    "window_snn_lstm": spiking_mixer_lstm,
    "window_snn_bilstm": spiking_mixer_bilstm,
    "window_snn_gru": spiking_mixer_gru,
    "window_snn_rnn": spiking_mixer_rnn,
    "resmlp12": resmlp12,
    "vit12": vit12,
}


# Models whose latency is one time step (ACML'23 §5.2 trains the window SNN at T = 1): a run that does not name
# T trains them at T = 1, every other model at ``DEFAULT_T``.
_ONE_STEP = {"window_snn", "window_snn_tiny", "window_snn_lstm", "window_snn_bilstm", "window_snn_gru",
             "window_snn_rnn", "resmlp12", "vit12"}
DEFAULT_T = 4


def default_T(name: str) -> int:
    """The number of time steps a training run uses for model ``name`` unless told: 1 for the one-step window
    SNNs and their comparison networks, ``DEFAULT_T`` (4) for the rest."""
    builder(name)
    return 1 if name in _ONE_STEP else DEFAULT_T


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def builder(name: str):
    """The constructor registered as ``name`` (to inspect its options); ValueError for an unknown name."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of {names()}")
    return _REGISTRY[name]


def get(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with its keyword options (num_classes, T, neuron, ...)."""
    return builder(name)(**kwargs)


__all__ = ["get", "builder", "names", "default_T", "DEFAULT_T", "resnet19", "vggsnn", "snn5", "spiking_resnet34", "sew_resnet34", "digits_cnn",
           "spiking_mixer", "spiking_mixer_tiny", "spiking_mixer_lstm", "spiking_mixer_bilstm", "spiking_mixer_gru",
           "spiking_mixer_rnn", "resmlp12", "vit12"]
