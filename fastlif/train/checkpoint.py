"""Checkpoints: written atomically (``fastlif.atomic``: a crash leaves the previous checkpoint or the new one,
never a torn file) and loaded without running code; where a run folder keeps its checkpoint."""
from __future__ import annotations

import os

import torch

from ..atomic import write_atomic

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
    """``torch.save(state)`` to ``path`` atomically and durably; returns the path."""
    return write_atomic(path, lambda f: torch.save(state, f), fsync=True)


def load_checkpoint(path, map_location="cpu") -> dict:
    """Load a checkpoint written by :func:`save_checkpoint`. ``weights_only``: tensors and plain Python containers
    only, so loading a checkpoint cannot run code."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"resume: no checkpoint at {path!r}")
    return torch.load(path, map_location=map_location, weights_only=True)
