"""The non-spiking output layer (SPEC §4): O[t] is the input current of the last layer, one vector per step."""
from __future__ import annotations

import torch
from torch import nn

from .time_layout import SEQUENCE, time_layout


class Readout(nn.Module):
    """Linear map of each step's features: `[T, B, ...]` → `[T, B, num_classes]`, no neuron after it.

    Trailing feature dims are flattened, so it can follow a conv stack directly. The losses (SDT, TET, MSE) and
    the per-latency prediction are all computed from these per-step outputs.
    """

    def __init__(self, in_features: int, num_classes: int, bias: bool = True):
        super().__init__()
        self.fc = nn.Linear(in_features, num_classes, bias=bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() < 3:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a sequence [T, B, features...], got {shape}")
        feats = x.flatten(2)
        if feats.shape[2] != self.fc.in_features:
            raise ValueError(f"x must have {self.fc.in_features} features per sample, got shape {tuple(x.shape)}")
        with time_layout(SEQUENCE):
            return self.fc(feats)
