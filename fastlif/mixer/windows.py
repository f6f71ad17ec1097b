"""Four corner windows G1..G4 of a feature map, and putting them back together (ACML'23, Algorithm 1).

Feature maps here are channels-last ``[B, H, W, C]`` (the layout of the Sequencer2D backbone, where every
Linear acts on the last dimension). Windows are taken in the paper's order: G1 top-left, G2 top-right,
G3 bottom-left, G4 bottom-right.

* ``"plain"``: window side L/2, so the four windows tile the map without overlap.
* ``"dilated"``: window side M = ⌊3L/4⌋, so horizontal and vertical neighbours overlap by w_o = 2M − L.

Recomposition ("weighted condense") averages every pixel over the windows that cover it. For M = 3L/4 this is
exactly Algorithm 1 of the supplement — average the overlap of G1/G2 and of G3/G4 (horizontal pairs), then the
overlap of the two halves (vertical) — because a centre pixel seen by all four windows gets
((g1 + g2)/2 + (g3 + g4)/2)/2 = Σg/4, a strip seen by two gets their mean, and a corner keeps its one value.
Written as sum/count it also holds for sides the algorithm's index arithmetic does not cover (L not a multiple of 4).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

MODES = ("plain", "dilated")


def _window_side(length: int, mode: str, axis: str) -> int:
    if mode == "plain":
        if length < 2 or length % 2:
            raise ValueError(f"plain windows need an even {axis} >= 2 (side L/2), got {axis} = {length}")
        return length // 2
    side = (3 * length) // 4
    if side < 1 or 2 * side < length:
        raise ValueError(f"dilated windows need {axis} >= 2 (side floor(3L/4) must cover L in two windows), "
                         f"got {axis} = {length}")
    return side


@dataclass(frozen=True)
class WindowLayout:
    """Where the four windows of an H×W map lie: side (mh, mw) and top-left corners in order G1..G4."""
    height: int
    width: int
    mh: int
    mw: int

    @property
    def offsets(self) -> tuple[tuple[int, int], ...]:
        down, right = self.height - self.mh, self.width - self.mw
        return (0, 0), (0, right), (down, 0), (down, right)

    @property
    def overlap(self) -> tuple[int, int]:
        """w_o = 2M − L along (H, W); 0 for plain windows."""
        return 2 * self.mh - self.height, 2 * self.mw - self.width


def layout(height: int, width: int, mode: str) -> WindowLayout:
    """The window layout for an H×W map in ``mode`` ("plain" or "dilated"); ValueError if it does not fit."""
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    return WindowLayout(height, width, _window_side(height, mode, "height"), _window_side(width, mode, "width"))


def _check_map(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x: expected a channels-last map [B, H, W, C], got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")


def partition(x: torch.Tensor, mode: str) -> list[torch.Tensor]:
    """The windows G1..G4 of ``x`` `[B, H, W, C]`, each `[B, mh, mw, C]` (views, no copy)."""
    _check_map(x)
    lay = layout(x.shape[1], x.shape[2], mode)
    return [x[:, r:r + lay.mh, c:c + lay.mw, :] for r, c in lay.offsets]


def condense(windows, height: int, width: int, mode: str) -> torch.Tensor:
    """Recompose windows G1..G4 `[B, mh, mw, C]` into the `[B, H, W, C]` map, averaging where they overlap.

    Plain windows are disjoint, so this is the exact inverse of ``partition`` there.
    """
    windows = list(windows)
    lay = layout(height, width, mode)
    if len(windows) != 4:
        raise ValueError(f"windows: expected the four windows G1..G4, got {len(windows)}")
    for i, g in enumerate(windows):
        if not isinstance(g, torch.Tensor) or g.dim() != 4 or g.shape[1:3] != (lay.mh, lay.mw):
            raise ValueError(f"windows[{i}]: expected shape [B, {lay.mh}, {lay.mw}, C] for a {height}x{width} "
                             f"map in {mode} mode, got {tuple(g.shape) if isinstance(g, torch.Tensor) else g!r}")
    total = 0
    count = torch.zeros(1, height, width, 1, dtype=windows[0].dtype, device=windows[0].device)
    ones = torch.ones(1, lay.mh, lay.mw, 1, dtype=count.dtype, device=count.device)
    for g, (r, c) in zip(windows, lay.offsets):
        pad = (0, 0, c, width - c - lay.mw, r, height - r - lay.mh)  # (C, W, H) pairs, last dim first
        total = total + F.pad(g, pad)
        count = count + F.pad(ones, pad)
    if mode == "plain":
        return total  # count is 1 everywhere: the windows tile the map
    return total / count
