"""The reference twin: SPEC §1–3 in plain PyTorch, written for clarity, not speed. The ground truth of every test.

Gradients come from autograd through the loop; only the Heaviside needs a hand-written backward (the surrogate).
Importable even when the compiled extension is missing.
"""
from __future__ import annotations

import torch

from .config import LifConfig, check_input, state_dtype


class _Heaviside(torch.autograd.Function):
    """s = 1[z > 0] forward (STRICT '>'), sg(z) backward."""

    @staticmethod
    def forward(ctx, z, surrogate):
        ctx.save_for_backward(z)
        ctx.surrogate = surrogate
        return (z > 0).to(z.dtype)

    @staticmethod
    def backward(ctx, grad_s):
        (z,) = ctx.saved_tensors
        return grad_s * ctx.surrogate(z), None


def lif_sequence(x, *, decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, return_state=False):
    """Multi-step LIF over the leading time dimension of ``x``; see ``fastlif.lif_sequence``."""
    cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
    check_input(x, v_init)
    return run(x, v_init, cfg, return_state)


def run(x, v_init, cfg: LifConfig, return_state: bool, want_h: bool = True):
    """The loop itself, on validated arguments (also the "reference" backend of fastlif.lif_sequence). It keeps
    every membrane anyway, so ``want_h`` (the other backends' "h not needed") changes nothing here."""
    acc = state_dtype(x.dtype)
    u = torch.zeros(x.shape[1:], dtype=acc, device=x.device) if v_init is None else v_init.to(acc)
    spikes, membranes = [], []
    for t in range(x.shape[0]):
        h = cfg.decay * u + x[t].to(acc)                       # charge
        s = _Heaviside.apply(h - cfg.threshold, cfg.surrogate)  # fire
        s_r = s.detach() if cfg.detach_reset else s
        if cfg.reset == "hard":
            u = h * (1 - s_r) + cfg.v_reset * s_r
            # h = +inf fires and makes +inf·0 = NaN above; the kernels' select (csrc/lif_math.h reset()) gives v_reset
            u = torch.where(torch.isposinf(h), cfg.v_reset, u)
        else:
            u = h - cfg.threshold * s_r
        spikes.append(s)
        membranes.append(h)
    s = torch.stack(spikes).to(x.dtype)
    if not return_state:
        return s
    return s, torch.stack(membranes).to(x.dtype), u
