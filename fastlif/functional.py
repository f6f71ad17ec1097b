"""``fastlif.lif_sequence``: validate once, pick a backend, run it."""
from __future__ import annotations

from . import dispatch
from .config import LifConfig, check_input, check_parameters, neuron_parameters


def lif_sequence(x, *, decay=None, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, return_state=False, backend="auto", tau=None, decay_input=False,
                 fire_ge=False):
    """Multi-step LIF neurons over the leading time dimension of ``x`` `[T, ...]` (docs/equations.md).

    Returns spikes `[T, ...]` in x's dtype, or with ``return_state=True`` the triple ``(spikes, h, u_final)``:
    the pre-reset membrane `[T, ...]` (x's dtype) and the state after the last step `[...]` (fp32, fp64 for fp64
    input), which continues the sequence exactly when passed back as ``v_init``.

    ``decay`` (default 0.5) or ``tau`` (decay = 1 − 1/τ) and ``threshold`` are numbers, or tensors broadcastable
    to one step x[0] (per channel: `[C, 1, 1]`; an ``nn.Parameter`` gets its gradient). ``decay_input=True`` is
    SpikingJelly's charge h = u + (x − (u − v_reset))/τ; ``fire_ge=True`` fires at h >= threshold;
    ``reset="subtract_next"`` is snnTorch's Leaky reset. Decay 1 is the IF neuron.
    """
    decay, threshold, decay_t, threshold_t = neuron_parameters(decay, threshold, tau, decay_input)
    cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset,
                         "scaled_input" if decay_input else "decay", fire_ge)
    check_input(x, v_init)
    check_parameters(x, decay_t, threshold_t)
    run = dispatch.runner(dispatch.pick(backend, x.device, x.dtype))
    return run(x, v_init, cfg, return_state, decay_t=decay_t, threshold_t=threshold_t)
