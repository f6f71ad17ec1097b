"""Which LIF backends exist on this machine, and which one ``backend="auto"`` picks for a tensor.

Every backend is a function ``run(x, v_init, cfg, return_state, want_h=True)`` on validated arguments with the same
result (up to kernel tolerance): reference (fastlif/reference.py), cpu and cuda (fastlif/ops.py → csrc/), triton
(fastlif/triton/lif.py).
"""
from __future__ import annotations

import os

import torch

from . import ops, reference

NAMES = ("cpu", "cuda", "triton", "reference")


def _triton_error() -> str | None:
    try:
        from .triton import lif as _  # noqa: F401
    except ImportError as err:
        return f"Triton is not usable here ({err})"
    return None


def _interpreting() -> bool:
    return os.environ.get("TRITON_INTERPRET", "0") == "1"


def why_unavailable(name: str, device: torch.device | None = None) -> str | None:
    """None if backend ``name`` can run on ``device`` (any device when None), else the reason."""
    if name == "reference":
        return None
    if name == "cpu":
        if ops.LOAD_ERROR:
            return ops.LOAD_ERROR
        if device is not None and device.type != "cpu":
            return f"the cpu backend needs CPU tensors, got a tensor on {device}"
        return None
    if name == "cuda":
        if ops.LOAD_ERROR:
            return ops.LOAD_ERROR
        if not ops.built_with_cuda():
            return "fastlif was built without CUDA (rebuild on a machine with a CUDA torch and nvcc)"
        if device is not None and device.type != "cuda":
            return f"the cuda backend needs CUDA tensors, got a tensor on {device}"
        if device is None and not torch.cuda.is_available():
            return "no CUDA device is visible"
        return None
    if name == "triton":
        err = _triton_error()
        if err:
            return err
        on_cpu = device is None and not torch.cuda.is_available() or device is not None and device.type == "cpu"
        if on_cpu and not _interpreting():
            return "Triton runs CPU tensors only under its interpreter (set TRITON_INTERPRET=1)"
        return None
    raise ValueError(f"unknown backend {name!r}; expected 'auto' or one of {list(NAMES)}")


def available() -> list[str]:
    """Names of the backends usable on this machine."""
    return [n for n in NAMES if why_unavailable(n) is None]


def pick(name: str, device: torch.device, dtype: torch.dtype | None = None) -> str:
    """Resolve ``name`` (or "auto") to a concrete backend for tensors on ``device``; ValueError saying why not.

    "auto" prefers the compiled kernel of the device, then Triton, then the reference; it skips Triton for fp64,
    which Triton does not run (its scalar arguments are fp32).
    """
    if not isinstance(name, str):
        raise TypeError(f"backend must be a string, got {type(name).__name__}")
    if name == "auto":
        order = ("cpu", "triton", "reference") if device.type == "cpu" else ("cuda", "triton", "reference")
        return next(n for n in order if why_unavailable(n, device) is None
                    and not (n == "triton" and dtype == torch.float64))
    reason = why_unavailable(name, device)
    if reason:
        raise ValueError(f"backend {name!r} is not available: {reason}")
    return name


def runner(name: str):
    if name in ("cpu", "cuda"):
        return ops.run
    if name == "triton":
        from .triton import lif
        return lif.run
    return reference.run
