"""Atomic checkpoints: write a temporary file beside the target, flush it to disk, then rename over the target.

``os.replace`` is atomic on POSIX and Windows, so a crash at any moment leaves either the previous checkpoint or
the new one — never a torn file — and no temporary file behind when Python gets to clean up.
"""
from __future__ import annotations

import os
import tempfile

import torch

CHECKPOINT = "checkpoint.pt"  # the file a run folder keeps its latest checkpoint in


def checkpoint_path(path, out_dir=None) -> str:
    """The checkpoint file ``path`` names: a file as given, a run folder's :data:`CHECKPOINT`, or with
    ``path == "auto"`` the one in ``out_dir``."""
    path = os.fspath(path)
    if path == "auto":
        if not out_dir:
            raise ValueError(f"resume: 'auto' needs out_dir (the run folder holding {CHECKPOINT})")
        return os.path.join(out_dir, CHECKPOINT)
    return os.path.join(path, CHECKPOINT) if os.path.isdir(path) else path


def save_checkpoint(state: dict, path) -> str:
    """``torch.save(state)`` to ``path`` atomically; returns the path."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=os.path.basename(path) + ".", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save(state, f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`. ``weights_only``: tensors and plain Python containers
    only, so loading a checkpoint cannot run code."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"resume: no checkpoint at {path!r}")
    return torch.load(path, map_location=map_location, weights_only=True)
