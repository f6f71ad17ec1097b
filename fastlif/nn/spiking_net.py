"""The model contract every network in fastlif.models and fastlif.mixer shares: ``model(x, T=None) -> O`` of shape
`[T, B, classes]` (`[B, T, classes]` with ``batch_first=True``), the input encoded one way (static → repeated T
times, events → as given or the first T frames) and neuron options checked one way."""
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
    if "batch_first" in neuron:
        raise TypeError("neuron: batch_first is an option of the model (fastlif.models.get(..., batch_first=True)), "
                        "not of its neurons: the layers inside a model run time-first")
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

    Time comes first: an event input is `[T, B, C, H, W]`, and with ``T=None`` its frame count must be the ``T``
    the model was built for (a batch-first `[B, T, ...]` batch would otherwise run as B steps of T samples), unless
    the network's steps are independent (``fixed_steps = False``).
    ``batch_first=True`` takes `[B, T, C, H, W]` events and returns `[B, T, classes]`: the layers run on the
    time-first view (a transpose), which the first layer copies once to time-outermost memory.
    """

    # Whether an event input run with T=None must have the model's T frames: yes where neurons carry the membrane
    # from step to step; a network that runs every frame as its own pass takes any number of frames.
    fixed_steps = True

    # Compaction on by default only where it makes the training step no slower. On the one machine timed (2 shared
    # CPU cores, one torch thread, bench/results/amd-epyc-2c/memory.csv, variants interleaved) the compacted step
    # was slower for every model, p20 over p20: resnet19 1.16x, vggsnn 1.06x (median 0.95x), the tiny window SNN
    # 1.06x (the hooks alone: its tensors are under MIN_BYTES); min-of-9 CPU time in a separate check: resnet19
    # +2 %, vggsnn -1..+2 %. A model measured no slower (say on a GPU) sets this True.
    compact_by_default = False

    def __init__(self, T: int, in_channels: int, input_size: int | None = None, neuron=None,
                 batch_first: bool = False):
        super().__init__()
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be a bool, got {type(batch_first).__name__}")
        self.batch_first = batch_first
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
        if isinstance(x, torch.Tensor) and x.dim() == 5:
            x = self.time_first_events(x, T)
        x = encode(x, T, self.T)
        if x.shape[2] != self.in_channels:
            raise ValueError(f"x must have {self.in_channels} channels, got shape {tuple(x.shape)} "
                             "(channels are dim 1 of a static [B, C, H, W] input, dim 2 of [T, B, C, H, W])")
        if self.input_size is not None and tuple(x.shape[3:]) != (self.input_size, self.input_size):
            raise ValueError(f"x must be {self.input_size}x{self.input_size} images (this model was built with "
                             f"input_size={self.input_size}), got shape {tuple(x.shape)}")
        out = self.forward_sequence(x)
        return out.transpose(0, 1) if self.batch_first else out

    def time_first_events(self, x: torch.Tensor, T: int | None) -> torch.Tensor:
        """Event input `[T, B, C, H, W]` (``[B, T, ...]`` with batch_first) as time-first, its step count checked
        when T is None and ``fixed_steps`` (an explicit T runs the first T frames)."""
        dim, layout = (1, "[B, T, C, H, W] (batch_first=True)") if self.batch_first else (0, "[T, B, C, H, W]")
        if T is None and self.fixed_steps and x.shape[dim] != self.T:
            hint = ("if x is time-first [T, B, C, H, W], pass x.transpose(0, 1) or build the model with "
                    "batch_first=False" if self.batch_first else
                    "if x is batch-first [B, T, C, H, W], pass x.transpose(0, 1) or build the model with "
                    "batch_first=True")
            raise ValueError(f"x: this model was built for T = {self.T} steps, but the event input x of shape "
                             f"{tuple(x.shape)} has {x.shape[dim]} along dim {dim}, its time dim in {layout}; "
                             f"{hint}; to run another number of steps pass T= (at most the frame count)")
        return x.transpose(0, 1) if self.batch_first else x

    @abstractmethod
    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        """The network on the encoded sequence `[T, B, C, H, W]`; returns `[T, B, classes]`."""
