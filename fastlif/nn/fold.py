"""Running stateless layers on sequences `[T, B, ...]` by folding time into the batch (the SeqToANN idea).

Convolutions, pooling and linear layers have no memory, so every time step can go through them as one big batch
`[T·B, ...]`: one kernel launch instead of T. Folding a contiguous tensor is a view (no copy), and so is the unfold.
"""
from __future__ import annotations

import torch
from torch import nn

from .time_layout import FOLDED, SHARED, time_layout

# Layers whose output at a step depends only on that step's input, deterministically and without batch
# statistics: for them a time-constant input (a stride-0 time dimension, as direct encoding makes) can be
# computed once and broadcast. Batch norms (batch statistics) and dropout (fresh masks per step) are not in here.
_STEPWISE_PURE = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear, nn.AvgPool2d, nn.MaxPool2d, nn.AdaptiveAvgPool2d,
                  nn.AdaptiveMaxPool2d, nn.Flatten, nn.Identity)


def _is_pure(module: nn.Module) -> bool:
    if isinstance(module, (nn.Sequential, TimeFolded)):
        return all(_is_pure(m) for m in module.children())
    return isinstance(module, _STEPWISE_PURE)


def seq_apply(module: nn.Module, x: torch.Tensor) -> torch.Tensor:
    """``module`` applied to every step of ``x`` `[T, B, ...]`, as one batch of T·B samples.

    When all T steps of ``x`` share memory (stride 0 in time, e.g. a directly encoded image) and ``module`` is a
    pure per-step layer, it runs once on `x[0]` and the result is broadcast back to T steps (still without a copy).
    The call declares its time layout (``time_layout``): "shared" for that shortcut, "folded" otherwise.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() < 2:
        raise ValueError(f"x must be a sequence [T, B, ...] with at least 2 dimensions, got shape {tuple(x.shape)}")
    T, B = x.shape[:2]
    if T > 1 and x.stride(0) == 0 and _is_pure(module):
        with time_layout(SHARED):
            y = module(x[0])
        return y.unsqueeze(0).expand(T, *y.shape)
    with time_layout(FOLDED):
        y = module(x.flatten(0, 1))
    return y.unflatten(0, (T, B))


class TimeFolded(nn.Module):
    """Stateless layers run on `[T, B, ...]` with time folded into the batch: ``TimeFolded(conv, pool)``.

    A batch norm inside sees T·B samples, so its statistics are over batch·time (tdBN's normalisation).
    """

    def __init__(self, *layers: nn.Module):
        super().__init__()
        if not layers:
            raise ValueError("TimeFolded needs at least one layer")
        for i, layer in enumerate(layers):
            if not isinstance(layer, nn.Module):
                raise TypeError(f"layers[{i}] must be an nn.Module, got {type(layer).__name__}")
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return seq_apply(self.layers, x)
