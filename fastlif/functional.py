"""``fastlif.lif_sequence``: validate once, pick a backend, run it."""
from __future__ import annotations

from . import dispatch
from .config import LifConfig, check_input


def lif_sequence(x, *, decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, return_state=False, backend="auto"):
    """Multi-step LIF neurons over the leading time dimension of ``x`` `[T, ...]` (SPEC §1–3).

    Returns spikes `[T, ...]` in x's dtype, or with ``return_state=True`` the triple ``(spikes, h, u_final)``:
    the pre-reset membrane `[T, ...]` (x's dtype) and the state after the last step `[...]` (fp32, fp64 for fp64
    input), which continues the sequence exactly when passed back as ``v_init``.
    """
    cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
    check_input(x, v_init)
    return dispatch.runner(dispatch.pick(backend, x.device, x.dtype))(x, v_init, cfg, return_state)
