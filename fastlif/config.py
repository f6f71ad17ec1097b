"""LifConfig: the validated neuron options shared by every backend (SPEC §1–3).

Validation happens once, here, so the four backends (reference, CPU, CUDA, Triton) can trust their inputs —
the "validate once in the dispatcher" shape of mamba and causal-conv1d.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch

from . import surrogate as _sg

# name -> the id the kernels switch on (csrc/lif_math.h ``enum class Reset``, the Triton kernel); checked by
# python_tests/test_kernel_ids.py.
RESET_IDS = {"hard": 0, "soft": 1}
FLOAT_DTYPES = (torch.float16, torch.bfloat16, torch.float32, torch.float64)


def state_dtype(dtype: torch.dtype) -> torch.dtype:
    """Membrane state and arithmetic are fp32 for every input dtype except fp64 (kept for gradcheck)."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _number(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a real number, got {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class LifConfig:
    decay: float = 0.5
    threshold: float = 1.0
    v_reset: float = 0.0
    reset: str = "hard"
    surrogate: _sg.Surrogate = _sg.Triangle()
    detach_reset: bool = False

    @staticmethod
    def make(decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle", detach_reset=False):
        decay = _number("decay", decay)
        if not 0.0 <= decay <= 1.0:
            raise ValueError(f"decay must lie in [0, 1], got {decay}")
        threshold = _number("threshold", threshold)
        if threshold <= 0:
            raise ValueError(f"threshold must be > 0, got {threshold}")
        v_reset = _number("v_reset", v_reset)
        if not isinstance(reset, str) or reset not in RESET_IDS:
            raise ValueError(f"reset must be one of {sorted(RESET_IDS)}, got {reset!r}")
        if not isinstance(detach_reset, bool):
            raise TypeError(f"detach_reset must be a bool, got {type(detach_reset).__name__}")
        return LifConfig(decay, threshold, v_reset, reset, _sg.get(surrogate), detach_reset)

    @property
    def reset_id(self) -> int:
        return RESET_IDS[self.reset]


def check_input(x, v_init) -> None:
    """Shape/dtype/device checks for x `[T, ...]` and the optional initial membrane `[...]`."""
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype not in FLOAT_DTYPES:
        raise TypeError(f"x must be fp16, bf16, fp32 or fp64, got {x.dtype}")
    if x.dim() < 1:
        raise ValueError("x must have a leading time dimension [T, ...], got a 0-d tensor")
    if x.shape[0] == 0:
        raise ValueError(f"x must have T >= 1 time steps, got shape {tuple(x.shape)} with T = 0")
    if v_init is None:
        return
    if not isinstance(v_init, torch.Tensor):
        raise TypeError(f"v_init must be a torch.Tensor or None, got {type(v_init).__name__}")
    if v_init.shape != x.shape[1:]:
        raise ValueError(f"v_init must have shape x.shape[1:] = {tuple(x.shape[1:])}, got {tuple(v_init.shape)}")
    if v_init.device != x.device:
        raise ValueError(f"v_init must be on x's device {x.device}, got {v_init.device}")
    if v_init.dtype not in (x.dtype, state_dtype(x.dtype)):
        raise TypeError(f"v_init must have x's dtype {x.dtype} or the state dtype {state_dtype(x.dtype)}, got {v_init.dtype}")
