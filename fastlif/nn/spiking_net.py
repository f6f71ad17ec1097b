"""The model contract every network in fastlif.models and fastlif.mixer shares: ``model(x, T=None) -> O`` of shape
`[T, B, classes]`, the input encoded one way (static → repeated T times, events → as given or the first T frames)
and neuron options checked one way."""
from __future__ import annotations

from abc import ABC, abstractmethod

import torch
from torch import nn

from ..checks import check_int
from ..memory import compact
from ..neuron import LIFSequence
from .direct_encoding import encode


def neuron_options(neuron) -> dict:
    """Validated keyword options for every LIFSequence of a model (decay, threshold, surrogate, backend, ...).

    Checked once here by building one neuron, so a typo fails at model construction, naming the option.
    """
    if neuron is None:
        return {}
    if not isinstance(neuron, dict):
        raise TypeError(f"neuron must be a dict of LIFSequence options or None, got {type(neuron).__name__}")
    try:
        LIFSequence(**neuron)
    except TypeError as err:
        raise TypeError(f"neuron has an option LIFSequence does not take: {err}") from None
    return dict(neuron)


class SpikingNet(nn.Module, ABC):
    """Base of the models (fastlif.models, fastlif.mixer): encodes the input (static → repeated T times, events → as
    given or their first T frames), then runs ``forward_sequence`` on `[T, B, C, H, W]`, which returns the per-step
    outputs `[T, B, classes]`. A static input reaches it as a stride-0 view along time, so a network whose steps
    are independent may compute one and expand it.

    ``fastlif.memory.compact(model)`` makes training keep spikes as bits and recompute batch norms (a third of the
    activation memory, exact gradients); off by default (``compact_by_default``).
    """

    # Compaction on by default only where it makes the training step no slower. On the one machine timed (2 shared
    # CPU cores, one torch thread, bench/results/amd-epyc-2c/memory.csv, variants interleaved) the compacted step
    # was slower for every model, p20 over p20: resnet19 1.16x, vggsnn 1.06x (median 0.95x), the tiny window SNN
    # 1.06x (the hooks alone: its tensors are under MIN_BYTES); min-of-9 CPU time in a separate check: resnet19
    # +2 %, vggsnn -1..+2 %. A model measured no slower (say on a GPU) sets this True.
    compact_by_default = False

    def __init__(self, T: int, in_channels: int, input_size: int | None = None, neuron=None):
        super().__init__()
        self.T = check_int("T", T)
        self.in_channels = in_channels
        self.input_size = input_size
        self.neuron = neuron_options(neuron)
        compact(self, self.compact_by_default)  # installs the switch, so compact(model) only flips it

    def spiking(self) -> LIFSequence:
        """A fresh neuron layer with the model's options (one per layer, so hooks can count spikes per layer)."""
        return LIFSequence(**self.neuron)

    @property
    def threshold(self) -> float:
        return float(self.neuron.get("threshold", 1.0))

    def forward(self, x: torch.Tensor, T: int | None = None) -> torch.Tensor:
        x = encode(x, T, self.T)
        if x.shape[2] != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} channels, got shape {tuple(x.shape)} "
                             "(channels are dim 1 of a static [B, C, H, W] input, dim 2 of [T, B, C, H, W])")
        if self.input_size is not None and tuple(x.shape[3:]) != (self.input_size, self.input_size):
            raise ValueError(f"x must be {self.input_size}x{self.input_size} images (this model was built with "
                             f"input_size={self.input_size}), got shape {tuple(x.shape)}")
        return self.forward_sequence(x)

    @abstractmethod
    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """The network on the encoded sequence `[T, B, C, H, W]`; returns `[T, B, classes]`."""
