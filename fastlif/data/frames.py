"""Event streams → frame tensors ``[T, 2, H, W]``, resizing, and an on-disk frame cache.

Slicing follows SpikingJelly's ``integrate_events_by_fixed_frames_number`` (which TET/SLT used for CIFAR10-DVS):

* ``split_by="number"``: frame j holds events ``[j·⌊N/T⌋, (j+1)·⌊N/T⌋)``; the last frame also takes the remainder.
* ``split_by="time"``: with ``dt = ⌊(t_last − t_first)/T⌋``, frame j holds events with
  ``t_first + j·dt ≤ t < t_first + (j+1)·dt``; the last frame takes everything from its start on.

Channel 0 counts OFF events (p = 0), channel 1 ON events (p = 1); ``frame[c, y, x]``.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Callable, Optional

import numpy as np
import torch
import torch.nn.functional as F

from ..atomic import write_atomic
from ..checks import check_int
from .aedat import Events

__all__ = ["SPLITS", "NORMALIZATIONS", "slice_bounds", "events_to_frames", "normalize_frames", "resize_frames",
           "FrameCache"]

SPLITS = ("number", "time")
NORMALIZATIONS = (None, "max")


def check_frame_options(T, split_by: str, size, normalize: Optional[str]) -> None:
    """The frame options every event dataset takes, checked with errors that name the option."""
    if split_by not in SPLITS:
        raise ValueError(f"split_by: expected one of {SPLITS}, got {split_by!r}")
    if normalize not in NORMALIZATIONS:
        raise ValueError(f"normalize: expected one of {NORMALIZATIONS}, got {normalize!r}")
    check_int("T", T)
    check_int("size", size)


def slice_bounds(t: np.ndarray, T: int, split_by: str) -> tuple[np.ndarray, np.ndarray]:
    """Start and end event indices ``(j_l, j_r)`` of the T frames; ``t`` must be non-decreasing for "time"."""
    check_int("T", T)
    n = len(t)
    if split_by == "number":
        step = n // T
        j_l = np.arange(T) * step
        j_r = j_l + step
    elif split_by == "time":
        if n == 0:
            return np.zeros(T, np.int64), np.zeros(T, np.int64)
        dt = (int(t[-1]) - int(t[0])) // T
        starts = int(t[0]) + dt * np.arange(T + 1, dtype=np.int64)
        edges = np.searchsorted(t, starts, side="left")
        j_l, j_r = edges[:-1], edges[1:]
    else:
        raise ValueError(f"split_by: expected one of {SPLITS}, got {split_by!r}")
    j_l, j_r = np.asarray(j_l, np.int64), np.asarray(j_r, np.int64)
    j_r[-1] = n
    return j_l, j_r


def events_to_frames(ev: Events, T: int, height: int, width: int, split_by: str = "number") -> np.ndarray:
    """Count the events of each of T slices per (polarity, y, x): float32 ``[T, 2, height, width]``."""
    if split_by == "time" and len(ev) > 1 and np.any(np.diff(ev.t) < 0):
        ev = ev.select(np.argsort(ev.t, kind="stable"))
    j_l, j_r = slice_bounds(ev.t, T, split_by)
    x, y, p = ev.x.astype(np.int64), ev.y.astype(np.int64), ev.p.astype(np.int64)
    if len(ev) and (x.min() < 0 or x.max() >= width or y.min() < 0 or y.max() >= height):
        raise ValueError(f"events: coordinates outside the {width}x{height} sensor "
                         f"(x in [{x.min()}, {x.max()}], y in [{y.min()}, {y.max()}])")
    if len(ev) and not np.isin(p, (0, 1)).all():
        raise ValueError("events: polarity must be 0 (OFF) or 1 (ON)")
    # The slices tile [0, N) in order, so each event's frame index is a run-length expansion of the slice sizes.
    frame = np.repeat(np.arange(T, dtype=np.int64), j_r - j_l)
    flat = ((frame * 2 + p) * height + y) * width + x
    counts = np.bincount(flat, minlength=T * 2 * height * width)
    return counts.reshape(T, 2, height, width).astype(np.float32)


def normalize_frames(frames: torch.Tensor, mode: Optional[str]) -> torch.Tensor:
    """Per-frame normalisation of ``[..., T, 2, H, W]``: ``"max"`` divides each frame by its largest count
    (an empty frame stays 0), so every frame lies in [0, 1] whatever its event count; ``None`` keeps counts."""
    if mode is None:
        return frames
    if mode == "max":
        peak = frames.amax(dim=(-3, -2, -1), keepdim=True)
        return frames / peak.clamp_min(torch.finfo(frames.dtype).tiny)
    raise ValueError(f"normalize: expected one of {NORMALIZATIONS}, got {mode!r}")


def resize_frames(frames: torch.Tensor, size: int) -> torch.Tensor:
    """Area-resize ``[..., H, W]`` to ``size``×``size`` (each output pixel averages the input pixels it covers,
    so the total count is kept up to the area ratio and no event is dropped between samples)."""
    check_int("size", size)
    if frames.shape[-2:] == (size, size):
        return frames
    lead = frames.shape[:-2]
    flat = frames.reshape(-1, 1, *frames.shape[-2:])
    return F.interpolate(flat, size=(size, size), mode="area").reshape(*lead, size, size)


class FrameCache:
    """One ``.npy`` file of frames per sample under ``directory``, written atomically.

    ``get(key, make, source)`` returns the cached frames or builds them with ``make()`` and stores them. The file
    is written to a temporary name in the same folder and renamed into place, so a crash or a concurrent reader
    never sees half a file; when ``make()`` raises (a corrupt source file) nothing is written. With ``source`` (the
    recording the frames come from) the cached file's name carries the source's size and modification time, so a
    replaced recording is decoded afresh (and its stale frames deleted) instead of served from the cache.
    """

    def __init__(self, directory):
        self.directory = Path(directory)

    def path(self, key: str, source=None) -> Path:
        if source is not None:
            st = os.stat(source)
            key = f"{key}.{st.st_size}-{st.st_mtime_ns}"
        return self.directory / f"{key}.npy"

    def get(self, key: str, make: Callable[[], np.ndarray], source=None) -> np.ndarray:
        path = self.path(key, source)
        if path.exists():
            try:
                return np.load(path, allow_pickle=False)
            except (ValueError, OSError, EOFError) as err:
                raise ValueError(f"{path}: unreadable cached frames ({err}); delete the file to rebuild it") from err
        arr = make()
        if source is not None:  # frames of an earlier version of the recording
            for stale in path.parent.glob(f"{Path(key).name}.*.npy"):
                stale.unlink(missing_ok=True)
        write_atomic(path, lambda f: np.save(f, arr, allow_pickle=False))
        return arr
