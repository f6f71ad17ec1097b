"""The seeds' spiking networks. Every model maps ``model(x, T=None)`` to per-step outputs `[T, B, classes]`:
a static `[B, C, H, W]` input is repeated T times (the model's default T when None), an event sequence
`[T, B, C, H, W]` is used as given. Neuron options go to every LIF layer through ``neuron=dict(...)``.

    model = fastlif.models.get("resnet19", num_classes=10, T=4, neuron=dict(surrogate="triangle"))
"""
from __future__ import annotations

from torch import nn

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
}


def names() -> list[str]:
    """The registered model names, sorted."""
    return sorted(_REGISTRY)


def get(name: str, **kwargs) -> nn.Module:
    """Build the model registered as ``name`` with its keyword options (num_classes, T, neuron, ...)."""
    if not isinstance(name, str):
        raise TypeError(f"name must be a string, got {type(name).__name__}")
    if name not in _REGISTRY:
        raise ValueError(f"unknown model {name!r}; expected one of {names()}")
    return _REGISTRY[name](**kwargs)


__all__ = ["get", "names", "resnet19", "vggsnn", "snn5", "spiking_resnet34", "sew_resnet34", "digits_cnn"]
