"""Region threshold Th_R (ACML'23 supplement §3.2): turn the "median spikes" of a weighted condense back into spikes.

Averaging binary windows over an overlap gives fractional values — 0.5 where two windows meet, 0.25/0.5/0.75 where
four do. Every value above Th_R (0.1 in the paper; the public code uses 0.2, which gives the same result on averages
of two or four binary maps) becomes 1, so the mixer's output stays binary and event-driven.
"""
from __future__ import annotations

import math

import torch

DEFAULT_TH_R = 0.1


def check_region_threshold(th_r) -> float:
    if isinstance(th_r, bool) or not isinstance(th_r, (int, float)) or not math.isfinite(th_r):
        raise TypeError(f"th_r must be a finite real number, got {th_r!r}")
    if not 0.0 <= th_r < 1.0:
        raise ValueError(f"th_r must lie in [0, 1) so that a full spike stays 1, got {th_r}")
    return float(th_r)


def region_threshold(x: torch.Tensor, th_r: float = DEFAULT_TH_R, straight_through: bool = True) -> torch.Tensor:
    """``where(x > th_r, 1, x)``: median spikes above ``th_r`` become full spikes, the rest are kept.

    The public code's ``torch.where`` has zero gradient wherever it fires, which cuts the surrogate gradient of
    every spike in a dilated block. With ``straight_through=True`` (default) the forward value is the same but the
    backward passes the gradient through unchanged, as for the averaging that produced the median spikes.
    """
    th_r = check_region_threshold(th_r)
    fired = torch.where(x > th_r, torch.ones_like(x), x)
    if not straight_through:
        return fired
    return fired.detach() + (x - x.detach())  # value exactly `fired` (x - x.detach() is 0), gradient 1
