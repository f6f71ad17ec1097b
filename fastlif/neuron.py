"""``LIFSequence``: the multi-step LIF neuron as a drop-in ``nn.Module`` (input `[T, ...]`, any trailing shape).

One module for the neurons users come with: LIF, IF (decay 1), PLIF (learnable τ, ``learn_decay``; the factory
``ParametricLIF``), learnable and per-channel thresholds, and the peers' equations as options (docs/equations.md).
"""
from __future__ import annotations

import math

import torch
from torch import nn

from . import dispatch
from .config import LifConfig, check_input, check_parameters, neuron_parameters


class LIFSequence(nn.Module):
    """Multi-step LIF layer. Stateless by default: every call starts from ``v_init`` (0).

    With ``stateful=True`` the final membrane of one call is the initial one of the next (chunked sequences,
    streaming inference) until ``reset_state()`` or ``fastlif.reset_net(model)``. The carried state is detached
    at the call boundary only when ``detach_state=True`` (truncated BPTT); by default gradients flow across calls.
    A call that would start from a state whose graph a ``backward()`` has already freed (a training loop without
    ``reset_net``) is a RuntimeError saying so.

    ``batch_first=True`` takes `[B, T, ...]` and returns spikes (and h) `[B, T, ...]`: the op runs on the
    time-first view, a transpose that it copies once to time-outermost memory (time-first input skips that copy).

    Parameters: ``decay`` (default 0.5) or ``tau`` (decay = 1 − 1/τ; decay 1 is the IF neuron) and ``threshold``
    are numbers or tensors broadcastable to one step x[0] (per channel: `[C, 1, 1]`); an ``nn.Parameter`` passed
    here is learned as it is (a decay outside [0, 1] is clamped, as snnTorch does with beta). ``learn_decay=True``
    is PLIF (Fang et al., ICCV 2021): 1/τ = sigmoid(w), w a parameter initialised from ``tau`` (default 2) as
    SpikingJelly's ParametricLIFNode does; ``learn_threshold=True`` learns the threshold. ``shape`` is the shape of
    the learned parameters (``()`` one per layer, ``(C, 1, 1)`` one per channel). Equations: ``decay_input=True``
    (SpikingJelly's h = u + (x − (u − v_reset))/τ), ``fire_ge=True`` (fire at h >= threshold),
    ``reset="subtract_next"`` (snnTorch's Leaky).
    """

    def __init__(self, *, decay=None, threshold=1.0, v_reset=0.0, reset="hard", surrogate="triangle",
                 detach_reset=False, v_init=None, backend="auto", stateful=False, detach_state=False, tau=None,
                 decay_input=False, fire_ge=False, learn_decay=False, learn_threshold=False, shape=(),
                 batch_first=False):
        super().__init__()
        if not isinstance(decay_input, bool):
            raise TypeError(f"decay_input must be a bool, got {type(decay_input).__name__}")
        self.decay_input = decay_input
        self.w = self.decay_param = self.threshold_param = None
        if learn_decay:
            if isinstance(decay, torch.Tensor) or isinstance(tau, torch.Tensor):
                raise ValueError("learn_decay=True learns the decay from a number (tau or decay); pass an "
                                 "nn.Parameter as decay instead to learn it directly")
            tau0 = tau if tau is not None else (2.0 if decay is None else 1.0 / (1.0 - decay))
            if not (isinstance(tau0, (int, float)) and tau0 > 1.0):
                raise ValueError(f"learn_decay needs an initial tau > 1 (decay in (0, 1)), got tau {tau0}")
            self.w = nn.Parameter(torch.full(tuple(shape), -math.log(tau0 - 1.0)))
            decay, tau = 1.0 - 1.0 / tau0, None
        if learn_threshold:
            if isinstance(threshold, torch.Tensor):
                raise ValueError("learn_threshold=True learns the threshold from a number; pass an nn.Parameter "
                                 "as threshold instead")
            self.threshold_param = nn.Parameter(torch.full(tuple(shape), float(threshold)))
        decay, th, decay_t, threshold_t = neuron_parameters(decay, threshold, tau, decay_input)
        if isinstance(decay_t, nn.Parameter):
            self.decay_param = decay_t  # learned directly (the decay itself, or the rate with decay_input)
        elif decay_t is not None:
            self.register_buffer("decay_tensor", decay_t, persistent=True)
        if isinstance(threshold_t, nn.Parameter):
            self.threshold_param = threshold_t
        elif threshold_t is not None and self.threshold_param is None:
            self.register_buffer("threshold_tensor", threshold_t, persistent=True)
        self.cfg = LifConfig.make(decay, th, v_reset, reset, surrogate, detach_reset,
                                  "scaled_input" if decay_input else "decay", fire_ge)
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

    def charge_parameter(self) -> torch.Tensor | None:
        """The kernels' per-neuron charge parameter (decay, or the rate 1/τ with decay_input), or None for the
        scalar in cfg. PLIF: rate = sigmoid(w), decay = sigmoid(−w) = 1 − sigmoid(w)."""
        if self.w is not None:
            return torch.sigmoid(self.w) if self.decay_input else torch.sigmoid(-self.w)
        if self.decay_param is not None:
            return self.decay_param.clamp(0.0, 1.0)
        return getattr(self, "decay_tensor", None)

    def threshold_tensor_or_none(self) -> torch.Tensor | None:
        if self.threshold_param is not None:
            return self.threshold_param
        return getattr(self, "threshold_tensor", None)

    @property
    def tau(self) -> torch.Tensor | float:
        """The membrane time constant τ = 1/(1 − decay) (per neuron/channel when the decay is a tensor)."""
        a = self.charge_parameter()
        if a is None:
            return 1.0 / (1.0 - self.cfg.decay) if self.cfg.decay < 1.0 else math.inf
        return 1.0 / a if self.decay_input else 1.0 / (1.0 - a)

    def reset_state(self) -> None:
        self.state = None
        self._state_graph = None

    def reset(self) -> None:
        """SpikingJelly's name for reset_state (its functional.reset_net calls it), for converted models."""
        self.reset_state()

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
        decay_t, threshold_t = self.charge_parameter(), self.threshold_tensor_or_none()
        check_parameters(x, decay_t, threshold_t)
        run = dispatch.runner(dispatch.pick(self.backend, x.device, x.dtype))
        need_state = return_state or self.stateful
        # Streaming inference carries u only: the membrane h is written when the caller asks for it.
        out = run(x, v0, self.cfg, need_state, want_h=return_state, decay_t=decay_t, threshold_t=threshold_t)
        if not need_state:
            return out
        s, h, u = out
        if self.stateful:
            self.state = u
            self._state_graph = watch_backward(s)
        return (s, h, u) if return_state else s

    def extra_repr(self) -> str:
        c = self.cfg
        decay = "learned (PLIF)" if self.w is not None else ("tensor" if self.charge_parameter() is not None
                                                             else c.decay)
        threshold = "tensor" if self.threshold_tensor_or_none() is not None else c.threshold
        extra = "".join(f", {name}=True" for name, on in (("decay_input", self.decay_input),
                                                          ("fire_ge", c.fire_ge)) if on)
        return (f"decay={decay}, threshold={threshold}, v_reset={c.v_reset}, reset={c.reset!r}, "
                f"surrogate={c.surrogate}, detach_reset={c.detach_reset}{extra}, backend={self.backend!r}, "
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


def ParametricLIF(tau: float = 2.0, *, decay_input: bool = True, **options) -> LIFSequence:
    """PLIF (Fang et al., ICCV 2021): a ``LIFSequence`` with a learnable time constant, 1/τ = sigmoid(w), w
    initialised from ``tau`` as SpikingJelly's ``ParametricLIFNode(init_tau=tau)``; ``decay_input=True`` is that
    paper's charge. Every other ``LIFSequence`` option applies (``shape=(C, 1, 1)`` learns one τ per channel)."""
    return LIFSequence(tau=tau, learn_decay=True, decay_input=decay_input, **options)


def reset_net(module: nn.Module) -> None:
    """Clear the carried state of every stateful neuron in ``module`` (SpikingJelly's ``functional.reset_net``)."""
    for m in module.modules():
        if hasattr(m, "reset_state") and callable(m.reset_state):
            m.reset_state()
