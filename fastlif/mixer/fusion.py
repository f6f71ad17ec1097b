"""Membrane fusion f(m1, m2) between windows (ACML'23 §4 and supplement §4.2, Eq. 4–6).

Which two membranes meet is the cell's ``pairing`` (cell.py): by default (supplement Eq. 5) the previous window's
first-layer membrane m1 = V[1, v−1] and the second layer's charge m2 = V[2, v], the fused value being what fires;
``"window"`` fuses both layers' membranes after the same window and hands the result on.

* ``"sincos"``: f = 2·sin(θπ·m1·cos(θπ·m2)). θ is the supplement's radian factor; θ = 0.25 gives the public
  code's 2·sin(π/4·m1·cos(π/4·m2)). The surface bends below the linear plane m1 + m2 where both membranes are
  large, which is what damps the "over-activation" of linear fusion in (th, 2·th).
* ``"linear"``: f = m1 + m2, the plane the supplement compares against.
* ``"mean"``: f = (m1 + m2)/2, what the public CNN-SNN code uses.
* ``"none"``: f = m2 — the second layer just continues its own membrane (plain LIF dynamics over windows).
"""
from __future__ import annotations

import math

import torch

FUSIONS = ("sincos", "linear", "mean", "none")
DEFAULT_THETA = 0.25


def check_fusion(name: str, theta) -> tuple[str, float]:
    if name not in FUSIONS:
        raise ValueError(f"fusion must be one of {FUSIONS}, got {name!r}")
    if isinstance(theta, bool) or not isinstance(theta, (int, float)) or not math.isfinite(theta):
        raise TypeError(f"theta must be a finite real number, got {theta!r}")
    if theta <= 0:
        raise ValueError(f"theta must be > 0, got {theta}")
    return name, float(theta)


def fuse(name: str, m1: torch.Tensor, m2: torch.Tensor, theta: float = DEFAULT_THETA) -> torch.Tensor:
    """f(m1, m2) for fusion ``name``; m1 and m2 have the same shape."""
    name, theta = check_fusion(name, theta)
    if m1.shape != m2.shape:
        raise ValueError(f"m1 and m2 must have the same shape, got {tuple(m1.shape)} and {tuple(m2.shape)}")
    if name == "sincos":
        w = theta * math.pi
        return 2 * torch.sin(w * m1 * torch.cos(w * m2))
    if name == "linear":
        return m1 + m2
    if name == "mean":
        return (m1 + m2) / 2
    return m2


def surface_area(theta: float, threshold: float = 0.5) -> float:
    """Supplement Eq. 6: S(θ) = 16·sin(3θπ·th/2)·sin²(θπ·th/4) / (θ²π²), the fusion surface's area indicator.

    Table 1 of the supplement lists S(th = 0.5) for θ = 0.1, 0.3, 0.5, 0.7, 0.9 (0.05, 0.16, 0.22, 0.24, 0.20).
    """
    _, theta = check_fusion("sincos", theta)
    if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not threshold > 0:
        raise ValueError(f"threshold must be a real number > 0, got {threshold!r}")
    a = theta * math.pi * threshold
    return 16 * math.sin(1.5 * a) * math.sin(a / 4) ** 2 / (theta * math.pi) ** 2
