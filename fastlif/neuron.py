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
    A call that would start from a state whose graph a ``backward()`` has already freed (a training loop without
    ``reset_net``) is a RuntimeError saying so.

    ``batch_first=True`` takes `[B, T, ...]` and returns spikes (and h) `[B, T, ...]`: the op runs on the
    time-first view, a transpose that it copies once to time-outermost memory (time-first input skips that copy).
    """

    def __init__(self, *, decay=0.5, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, backend="auto", stateful=False, detach_state=False,
                 batch_first=False):
        super().__init__()
        self.cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
        if backend != "auto":
            dispatch.why_unavailable(backend)  # unknown names fail here, at construction
        self.backend = backend
        self.stateful = stateful
        self.detach_state = detach_state
        self.v_init = v_init
        if not isinstance(batch_first, bool):
            raise TypeError(f"batch_first must be a bool, got {type(batch_first).__name__}")
        self.batch_first = batch_first
        self.state = None
        self._state_graph = None  # (backwarded flag, autograd node) of the call that left self.state

    def reset_state(self) -> None:
        self.state = None
        self._state_graph = None

    def forward(self, x: torch.Tensor, return_state: bool = False, v_init: torch.Tensor | None = None):
        """Spikes ``s`` `[T, ...]`, or ``(s, h, u)`` with ``return_state``. ``v_init`` (`[...]`) starts this call
        from that membrane instead of the carried state or the layer's own ``v_init`` (a caller that hands the
        state on itself, like the mixer's window cell). With ``batch_first``, x, s and h are `[B, T, ...]`."""
        if self.batch_first and isinstance(x, torch.Tensor) and x.dim() > 1:
            out = self._forward_time_first(x.transpose(0, 1), return_state, v_init)
            return (out[0].transpose(0, 1), out[1].transpose(0, 1), out[2]) if return_state else out.transpose(0, 1)
        return self._forward_time_first(x, return_state, v_init)

    def _forward_time_first(self, x, return_state, v_init):
        """``forward`` on time-first x `[T, ...]`."""
        if isinstance(x, torch.Tensor) and x.dim() == 1:
            raise ValueError(f"x: LIFSequence takes [T, ...] with at least one neuron dimension, got a 1-D tensor of "
                             f"shape {tuple(x.shape)}, which would run as {x.shape[0]} steps of one neuron; "
                             "for one step of N neurons pass x[None] ([1, N])")
        if v_init is None and self.stateful and self.state is not None and isinstance(x, torch.Tensor) \
                and self.state.shape != x.shape[1:]:
            raise ValueError(f"x: this stateful LIFSequence carries the state of its previous call, shape "
                             f"{tuple(self.state.shape)}, but x has {tuple(x.shape[1:])} per step (a new batch size?); "
                             "call fastlif.reset_net(model) (or .reset_state()) before a new sequence")
        if v_init is None and self.stateful and not self.detach_state:
            check_carried_graph(self.state, self._state_graph)
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
            self._state_graph = watch_backward(s)
        return (s, h, u) if return_state else s

    def extra_repr(self) -> str:
        c = self.cfg
        return (f"decay={c.decay}, threshold={c.threshold}, v_reset={c.v_reset}, reset={c.reset!r}, "
                f"surrogate={c.surrogate}, detach_reset={c.detach_reset}, backend={self.backend!r}, "
                f"stateful={self.stateful}")


def watch_backward(s: torch.Tensor):
    """``(flag, node)``: the autograd node of ``s`` and a flag a backward sets on reaching it (None without a graph).
    The hook holds only the flag, so no reference cycle runs through the node."""
    if not (torch.is_grad_enabled() and s.requires_grad):
        return None
    flag = [False]
    s.register_hook(lambda grad: flag.__setitem__(0, True))
    return flag, s.grad_fn


def released(node, depth: int = 8) -> bool:
    """Whether a backward has freed ``node``'s graph: reading a tensor it saved for backward then raises, the only
    sign torch gives. Nodes that saved no tensor (a stack) are looked through, up to ``depth`` levels."""
    frontier = [node]
    for _ in range(depth):
        following = []
        for n in frontier:
            if n is None:
                continue
            try:
                saved = [n.saved_tensors] if hasattr(n, "saved_tensors") else \
                    [getattr(n, name) for name in dir(n) if name.startswith("_saved_")]
            except RuntimeError:
                return True
            flat = [t for item in saved for t in (item if isinstance(item, tuple) else (item,))]
            if any(isinstance(t, torch.Tensor) for t in flat):
                return False
            following += [f for f, _ in n.next_functions]
        frontier = following
    return False


def check_carried_graph(state, graph) -> None:
    """RuntimeError if a call would start from carried ``state`` whose graph a backward has freed: torch's own
    "backward through the graph a second time" would follow, naming neither reset_net nor detach_state. Looked at
    only after a backward went through the previous call (``graph`` from ``watch_backward``), so a loop that
    keeps the graph (``retain_graph=True``) or carries state without backward never pays for the check."""
    if state is None or graph is None or not graph[0] or not state.requires_grad or not torch.is_grad_enabled():
        return
    if released(graph[1]):
        raise RuntimeError(
            "this stateful LIFSequence would start from the membrane its previous call left, but a backward() has "
            "already gone through that call and freed its graph, so this call's backward would fail ('Trying to "
            "backward through the graph a second time'). Between independent sequences (each training iteration) "
            "call fastlif.reset_net(model) (or .reset_state()); to go on with the sequence but stop gradients at "
            "the call boundary (truncated BPTT), build the layer with detach_state=True")


def reset_net(module: nn.Module) -> None:
    """Clear the carried state of every stateful neuron in ``module`` (SpikingJelly's ``functional.reset_net``)."""
    for m in module.modules():
        if hasattr(m, "reset_state") and callable(m.reset_state):
            m.reset_state()
