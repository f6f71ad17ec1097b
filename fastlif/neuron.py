"""``LIFSequence``: the multi-step LIF neuron as a drop-in ``nn.Module`` (input `[T, ...]`, any trailing shape)."""
from __future__ import annotations

import torch
from torch import nn

from . import dispatch
from .config import LifConfig, check_input


class LIFSequence(nn.Module):
    """Multi-step LIF layer. Stateless by default: every call starts from ``v_init`` (0).

    With ``stateful=True`` the final membrane of one call is the initial one of the next (chunked sequences,
    streaming inference) until ``reset_state()`` or ``fastlif.reset_net(model)``. The carried state is detached
    at the call boundary only when ``detach_state=True`` (truncated BPTT); by default gradients flow across calls.
    """

    def __init__(self, *, decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, backend="auto", stateful=False, detach_state=False):
        super().__init__()
        self.cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
        if backend != "auto":
            dispatch.why_unavailable(backend)  # unknown names fail here, at construction
        self.backend = backend
        self.stateful = stateful
        self.detach_state = detach_state
        self.v_init = v_init
        self.state = None

    def reset_state(self) -> None:
        self.state = None

    def forward(self, x: torch.Tensor, return_state: bool = False, v_init: torch.Tensor | None = None):
        """Spikes ``s`` `[T, ...]`, or ``(s, h, u)`` with ``return_state``. ``v_init`` (`[...]`) starts this call
        from that membrane instead of the carried state or the layer's own ``v_init`` (a caller that hands the
        state on itself, like the mixer's window cell)."""
        if isinstance(x, torch.Tensor) and x.dim() == 1:
            raise ValueError(f"x: LIFSequence takes [T, ...] with at least one neuron dimension, got a 1-D tensor of "
                             f"shape {tuple(x.shape)}, which would run as {x.shape[0]} steps of one neuron; "
                             "for one step of N neurons pass x[None] ([1, N])")
        if v_init is None and self.stateful and self.state is not None and isinstance(x, torch.Tensor) \
                and self.state.shape != x.shape[1:]:
            raise ValueError(f"x: this stateful LIFSequence carries the state of its previous call, shape "
                             f"{tuple(self.state.shape)}, but x has {tuple(x.shape[1:])} per step (a new batch size?); "
                             "call fastlif.reset_net(model) (or .reset_state()) before a new sequence")
        if v_init is not None:
            v0 = v_init
        else:
            v0 = self.state if (self.stateful and self.state is not None) else self.v_init
            if v0 is not None and self.stateful and self.detach_state:
                v0 = v0.detach()
        check_input(x, v0)
        run = dispatch.runner(dispatch.pick(self.backend, x.device, x.dtype))
        need_state = return_state or self.stateful
        # Streaming inference carries u only: the membrane h is written when the caller asks for it.
        out = run(x, v0, self.cfg, need_state, want_h=return_state)
        if not need_state:
            return out
        s, h, u = out
        if self.stateful:
            self.state = u
        return (s, h, u) if return_state else s

    def extra_repr(self) -> str:
        c = self.cfg
        return (f"decay={c.decay}, threshold={c.threshold}, v_reset={c.v_reset}, reset={c.reset!r}, "
                f"surrogate={c.surrogate}, detach_reset={c.detach_reset}, backend={self.backend!r}, "
                f"stateful={self.stateful}")


def reset_net(module: nn.Module) -> None:
    """Clear the carried state of every stateful neuron in ``module`` (SpikingJelly's ``functional.reset_net``)."""
    for m in module.modules():
        if hasattr(m, "reset_state") and callable(m.reset_state):
            m.reset_state()
