"""Turning a model input into the `[T, B, ...]` sequence its layers run on.

Static data (an image `[B, C, H, W]`) is direct-encoded: the same analogue frame at every step, the encoding of
TET and SLT. It is an ``expand`` — a stride-0 view, no copies — and the first conv notices and runs only once.
Event data (frames `[T, B, C, H, W]`) already has its time axis and passes through.
"""
from __future__ import annotations

import torch

from ..checks import check_int


def direct_encode(x: torch.Tensor, T: int) -> torch.Tensor:
    """``x`` `[B, ...]` repeated T times as a view `[T, B, ...]` (stride 0 along time)."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    check_int("T", T)
    return x.unsqueeze(0).expand(T, *x.shape)


def encode(x: torch.Tensor, T: int | None, default_T: int, static_dim: int = 4) -> torch.Tensor:
    """The sequence a model runs on, from a static input (``static_dim`` dims) or an event sequence (one more).

    Static: repeated ``T`` times (``default_T`` when T is None). Events: all frames when T is None, else the first
    T frames — the model is causal, so this equals the first T outputs of the full run. Asking for more steps
    than there are frames is a ValueError.
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if T is not None:
        check_int("T", T)
    if x.dim() == static_dim:
        return direct_encode(x, default_T if T is None else T)
    if x.dim() == static_dim + 1:
        if x.shape[0] == 0:
            raise ValueError(f"x as an event sequence must have at least one frame, got shape {tuple(x.shape)}")
        if T is None:
            return x
        if T > x.shape[0]:
            raise ValueError(f"T = {T} exceeds the {x.shape[0]} frames of the event input x {tuple(x.shape)}")
        return x[:T]
    raise ValueError(f"x must be static ({static_dim} dims) or an event sequence [T, ...] ({static_dim + 1} dims), "
                     f"got shape {tuple(x.shape)}")
