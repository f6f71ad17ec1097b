"""The reference twin: SPEC §1–3 in plain PyTorch, written for clarity, not speed. The ground truth of every test.

Gradients come from autograd through the loop; only the Heaviside needs a hand-written backward (the surrogate).
Importable even when the compiled extension is missing.
"""
from __future__ import annotations

import torch

from .config import LifConfig, check_input, state_dtype


class _Heaviside(torch.autograd.Function):
    """s = 1[z > 0] forward (STRICT '>'; 1[z >= 0] with ``ge``), sg(z) backward."""

    @staticmethod
    def forward(ctx, z, surrogate, ge=False):
        ctx.save_for_backward(z)
        ctx.surrogate = surrogate
        return (z >= 0 if ge else z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_s):
        (z,) = ctx.saved_tensors
        return grad_s * ctx.surrogate(z), None, None


def lif_sequence(x, *, decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, return_state=False):
    """Multi-step LIF over the leading time dimension of ``x``; see ``fastlif.lif_sequence``."""
    cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
    check_input(x, v_init)
    return run(x, v_init, cfg, return_state)


def run(x, v_init, cfg: LifConfig, return_state: bool, want_h: bool = True, decay_t=None, threshold_t=None):
    """The loop itself, on validated arguments (also the "reference" backend of fastlif.lif_sequence). It keeps
    every membrane anyway, so ``want_h`` (the other backends' "h not needed") changes nothing here.
    ``decay_t`` / ``threshold_t``: per-neuron tensors broadcastable to x[0] in place of the scalars; ``decay_t`` is
    the charge's parameter as the kernels take it (``cfg.rate``'s meaning: the rate 1/τ for the scaled input)."""
    acc = state_dtype(x.dtype)
    a = cfg.rate if decay_t is None else decay_t.to(acc)
    theta = cfg.threshold if threshold_t is None else threshold_t.to(acc)
    u = torch.zeros(x.shape[1:], dtype=acc, device=x.device) if v_init is None else v_init.to(acc)
    spikes, membranes = [], []
    for t in range(x.shape[0]):
        if cfg.charge == "decay":                               # charge
            h = a * u + x[t].to(acc)
        else:
            h = u + (x[t].to(acc) - (u - cfg.v_reset)) * a
        if cfg.reset == "subtract_next":  # snnTorch: the previous step's spike (detached) resets now
            h = h - theta * ((u >= theta) if cfg.fire_ge else (u > theta)).to(acc)
        s = _Heaviside.apply(h - theta, cfg.surrogate, cfg.fire_ge)  # fire
        s_r = s.detach() if cfg.detach_reset else s
        if cfg.reset == "hard":
            u = h * (1 - s_r) + cfg.v_reset * s_r
            # h = +inf fires and makes +inf·0 = NaN above; the kernels' select (csrc/lif_math.h reset()) gives v_reset
            u = torch.where(torch.isposinf(h), cfg.v_reset, u)
        elif cfg.reset == "soft":
            u = h - theta * s_r
        else:
            u = h
        spikes.append(s)
        membranes.append(h)
    s = torch.stack(spikes).to(x.dtype)
    if not return_state:
        return s
    return s, torch.stack(membranes).to(x.dtype), u
