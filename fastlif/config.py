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
RESET_IDS = {"hard": 0, "soft": 1, "subtract_next": 2}
# h = decay·u + x, or SpikingJelly's decay_input=True: h = u + (x − (u − v_reset))·(1 − decay)  (docs/equations.md).
CHARGE_IDS = {"decay": 0, "scaled_input": 1}
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
    charge: str = "decay"
    fire_ge: bool = False

    @staticmethod
    def make(decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle", detach_reset=False,
             charge="decay", fire_ge=False):
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
        if not isinstance(charge, str) or charge not in CHARGE_IDS:
            raise ValueError(f"charge must be one of {sorted(CHARGE_IDS)}, got {charge!r}")
        if charge == "scaled_input" and reset == "subtract_next":
            raise ValueError("reset='subtract_next' (snnTorch's Leaky) takes charge='decay', not 'scaled_input'")
        if not isinstance(fire_ge, bool):
            raise TypeError(f"fire_ge must be a bool, got {type(fire_ge).__name__}")
        return LifConfig(decay, threshold, v_reset, reset, _sg.get(surrogate), detach_reset, charge, fire_ge)

    @property
    def reset_id(self) -> int:
        return RESET_IDS[self.reset]

    @property
    def charge_id(self) -> int:
        return CHARGE_IDS[self.charge]

    @property
    def rate(self) -> float:
        """The kernels' charge parameter: the decay, or for the scaled input the rate 1 − decay (= 1/τ)."""
        return self.decay if self.charge == "decay" else 1.0 - self.decay


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


def _scalar_or_tensor(name: str, value):
    """(scalar, None) for a number, (None, tensor) for a floating tensor (per-neuron / learnable)."""
    if isinstance(value, torch.Tensor):
        if not value.is_floating_point():
            raise TypeError(f"{name} must be a real number or a floating tensor, got a {value.dtype} tensor")
        return None, value
    return value, None


def neuron_parameters(decay, threshold, tau, decay_input):
    """The user's decay/tau/threshold (numbers, or tensors broadcastable to one step x[0]) as the kernels take them:
    (scalar decay, scalar threshold, charge parameter tensor or None, threshold tensor or None). ``tau`` is the
    time-constant vocabulary: decay = 1 − 1/τ. With ``decay_input`` the kernels' charge parameter is the rate
    1/τ = 1 − decay, computed here once (from τ directly when given, so that 1/τ is not rounded twice)."""
    if tau is not None:
        if decay is not None:
            raise ValueError("give decay or tau, not both (decay = 1 - 1/tau)")
        tau_s, tau_t = _scalar_or_tensor("tau", tau)
        if tau_t is None:
            tau_s = _number("tau", tau_s)
            if tau_s < 1.0:
                raise ValueError(f"tau must be >= 1 (decay = 1 - 1/tau in [0, 1]), got {tau_s}")
            decay = 1.0 - 1.0 / tau_s
        else:
            decay = 1.0 - 1.0 / tau_t
            rate_t = 1.0 / tau_t if decay_input else decay
            th_s, th_t = _scalar_or_tensor("threshold", threshold)
            return 0.5, (1.0 if th_t is not None else th_s), rate_t, th_t
    decay = 0.5 if decay is None else decay
    decay_s, decay_t = _scalar_or_tensor("decay", decay)
    th_s, th_t = _scalar_or_tensor("threshold", threshold)
    rate_t = None if decay_t is None else (1.0 - decay_t if decay_input else decay_t)
    return (0.5 if decay_t is not None else decay_s), (1.0 if th_t is not None else th_s), rate_t, th_t


def check_parameters(x, decay_t, threshold_t) -> None:
    """A per-neuron decay/threshold must broadcast to one step x[0] and live on x's device."""
    for name, t in (("decay", decay_t), ("threshold", threshold_t)):
        if t is None:
            continue
        step = tuple(x.shape[1:])
        # Broadcasting leaves step as it is: no more dims, each one 1 or equal (torch.broadcast_shapes says the same
        # at ~25 µs a call, a sixth of a small layer's forward+backward).
        fits = t.dim() <= len(step) and all(a == 1 or a == b for a, b in zip(reversed(t.shape), reversed(step)))
        if not fits:
            raise ValueError(f"{name} tensor of shape {tuple(t.shape)} must broadcast to one time step x[0] of "
                             f"shape {step} (e.g. per channel: [C, 1, 1])")
        if t.device != x.device:
            raise ValueError(f"{name} tensor must be on x's device {x.device}, got {t.device}")
