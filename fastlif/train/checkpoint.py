"""Checkpoints that verify themselves: written atomically (``fastlif.atomic``: a crash leaves the previous checkpoint
or the new one, never a torn file), stamped with a format version and a SHA-256 of their content, and loaded without
running code. Every way a file can be bad gets one clear error (:class:`CheckpointError`) naming the file.

A checkpoint is an ordinary ``torch.save`` dict (``torch.load`` still reads it) with two entries added:
``format`` (:data:`FORMAT`) and ``checksum`` = {``sha256``, ``written_by``, ``written_at``}. The hash covers every
entry but ``checksum`` itself: each tensor's dtype, shape and bytes, every other value's ``repr``, in order; a flipped
byte inside a weight tensor, which ``torch.load`` does not notice, fails it.
"""
from __future__ import annotations

import datetime
import hashlib
import os
import pickle
import warnings
import zipfile

import torch

from ..atomic import write_atomic

CHECKPOINT = "checkpoint.pt"  # the file a run folder keeps its latest checkpoint in
FORMAT = 2                    # 1: fastlif 0.1.0 before checksums (still read, with a warning); 2: with checksum


class CheckpointError(ValueError):
    """A file that is not a usable fastlif checkpoint (foreign, truncated, changed since written, newer format)."""


def checkpoint_path(path, out_dir=None) -> str:
    """The checkpoint file ``path`` names: a file as given, a run folder's :data:`CHECKPOINT`, or with
    ``path == "auto"`` the one in ``out_dir``."""
    path = os.fspath(path)
    if path == "auto":
        if not out_dir:
            raise ValueError(f"resume: 'auto' needs out_dir (the run folder holding {CHECKPOINT})")
        return os.path.join(out_dir, CHECKPOINT)
    return os.path.join(path, CHECKPOINT) if os.path.isdir(path) else path


def content_hash(state: dict) -> str:
    """SHA-256 over ``state`` without its ``checksum`` entry (see the module docstring)."""
    h = hashlib.sha256()

    def feed(obj):
        if isinstance(obj, torch.Tensor):
            t = obj.detach().cpu().contiguous()
            h.update(f"T{t.dtype}{tuple(t.shape)}".encode())
            h.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
        elif isinstance(obj, dict):
            h.update(b"{")
            for k, v in obj.items():
                if k != "checksum" or obj is not state:
                    feed(k)
                    feed(v)
            h.update(b"}")
        elif isinstance(obj, (list, tuple)):
            h.update(b"[" if isinstance(obj, list) else b"(")
            for v in obj:
                feed(v)
            h.update(b"]")
        else:
            h.update(f"{type(obj).__name__}:{obj!r};".encode())

    feed(state)
    return h.hexdigest()


def save_checkpoint(state: dict, path) -> str:
    """``torch.save`` ``state`` plus ``format`` and ``checksum`` to ``path``, atomically and durably; returns the
    path."""
    from .. import __version__

    state = {k: v for k, v in state.items() if k != "checksum"}
    state["format"] = FORMAT
    state["checksum"] = {"sha256": content_hash(state),
                         "written_by": f"fastlif {__version__}, torch {torch.__version__}",
                         "written_at": datetime.datetime.now().astimezone().isoformat(timespec="seconds")}
    return write_atomic(path, lambda f: torch.save(state, f), fsync=True)


def load_checkpoint(path, map_location="cpu", need=("config", "model")) -> dict:
    """Load and verify a checkpoint written by :func:`save_checkpoint` (``weights_only``: tensors and plain
    containers only, so loading cannot run code). ``need``: entries the caller uses (resuming training also needs
    the optimiser's). Raises FileNotFoundError, or :class:`CheckpointError` saying what is wrong with the file."""
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no checkpoint at {path!r}")

    def bad(why):
        return CheckpointError(f"checkpoint {path}: {why}")

    size = os.path.getsize(path)
    if size == 0:
        raise bad("empty file (0 bytes): truncated, e.g. by a full disk or an interrupted copy")
    with open(path, "rb") as f:
        magic = f.read(4)
    if magic != b"PK\x03\x04":
        raise bad("not a fastlif checkpoint (not a file written by torch.save)")
    if not zipfile.is_zipfile(path):
        raise bad(f"truncated ({size} bytes; the end of the file is missing)")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise bad(f"not a fastlif checkpoint: it holds Python objects beyond tensors and plain containers "
                  f"({str(e).splitlines()[0]})") from None
    except (RuntimeError, EOFError, OSError) as e:
        raise bad(f"damaged: torch.load failed ({str(e).splitlines()[0]})") from None
    if not isinstance(state, dict) or "format" not in state or "config" not in state:
        what = "a bare state dict" if isinstance(state, dict) and state and all(
            isinstance(v, torch.Tensor) for v in state.values()) else f"a {type(state).__name__}"
        raise bad(f"not a fastlif checkpoint (it holds {what}; fastlif writes a dict with 'format', 'config', "
                  "'model', ...)")
    fmt = state["format"]
    if fmt == 1:
        warnings.warn(f"checkpoint {path}: format 1 (written before fastlif checked its checkpoints): loaded "
                      "without a checksum to verify it against", stacklevel=2)
    elif fmt != FORMAT:
        raise bad(f"unsupported format version {fmt!r}: this fastlif reads formats 1 and {FORMAT} "
                  "(written by a newer fastlif?)")
    else:
        stamp = state.get("checksum")
        if not isinstance(stamp, dict) or "sha256" not in stamp:
            raise bad(f"format {FORMAT} without its checksum entry: the file was changed after it was written")
        if content_hash(state) != stamp["sha256"]:
            raise bad(f"checksum mismatch: written by {stamp.get('written_by', '?')} at "
                      f"{stamp.get('written_at', '?')}; the file changed since it was written (disk or copy error, "
                      "or edited) — use an intact copy")
    missing = [k for k in need if k not in state]
    if missing:
        raise bad(f"lacks {', '.join(repr(k) for k in missing)}"
                  + (": it holds a model for evaluation only and cannot resume training" if "optimizer" in missing
                     and "model" in state else ""))
    return state
