"""The fused-op contract every compiled twin follows: the compiled ``torch.ops.fastlif.lif_forward`` /
``lif_backward`` (csrc/lif_ops.cpp, CPU and CUDA) and the Triton ``lif_forward_triton`` / ``lif_backward_triton``
(fastlif/triton/lif.py) differ only in the kernels they launch. This module owns, once for all of them:

- the layout rule: ``x`` `[T, ...]` goes to the kernels as it is when it is dense with time outermost
  (contiguous, channels_last, any dense permutation of the neuron dims), else as a contiguous copy; outputs keep
  its strides, state tensors (v_init, u_final, grad_u, grad_v) those of one time step;
- the per-neuron parameters: a decay/threshold tensor broadcastable to one step ``x[0]`` goes to the kernels
  expanded to that step's layout in the state dtype (N values, not T·N; a one-element tensor as it is); its
  gradient comes back from the kernel shaped like the tensor the op was given (per neuron, or one element: the
  sum over every neuron and step, no `[N]` of partial sums in memory), and autograd takes it on to the parameter;
- which outputs are written: spikes always, the membrane ``h`` only when returned or when a backward that cannot
  recompute it will read it, ``u_final`` only when returned, ``grad_v`` only when ``v_init`` needs a gradient;
- the fake (meta) kernels, so ``torch.compile(fullgraph=True)`` traces the ops without graph breaks;
- one autograd formula: no zero-filled gradients (outputs nobody differentiates arrive as None and reach the
  kernels as null pointers), the membrane recomputed from x where the backend's backward can (the CPU: the 5w
  variant of docs/equations.md's traffic model, measured faster than saving h), read from the saved h elsewhere,
  and one error when it was not saved.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Callable, Optional

import torch

from .config import LifConfig, state_dtype
from .layout import dense_extent

try:
    from . import _C  # noqa: F401  (importing it registers the ops)
    LOAD_ERROR = None
except ImportError as err:  # the reference and Triton twins still work without the extension
    LOAD_ERROR = (f"fastlif._C failed to import ({err}); rebuild it with "
                  "`pip install -e . --no-build-isolation` (or `make build`)")


# Read once: asking the op during torch.compile tracing would be a graph break.
_BUILT_WITH_CUDA = LOAD_ERROR is None and bool(torch.ops.fastlif.built_with_cuda())
_CPU_ISA = None if LOAD_ERROR else str(torch.ops.fastlif.cpu_isa())


def built_with_cuda() -> bool:
    return _BUILT_WITH_CUDA


def cpu_isa() -> Optional[str]:
    """The instruction set the CPU kernels run with ("avx512", "avx2" or "baseline"; None without the extension).
    The best this CPU has, unless the environment variable FASTLIF_CPU_ISA named a lower one at import."""
    return _CPU_ISA


# ---- layout ----

def time_major_dense(x: torch.Tensor) -> bool:
    """Dense with time outermost: each time step's neurons fill N consecutive elements (csrc/lif_ops.cpp checks
    the same). An empty tensor has no memory to walk, so any strides do."""
    if x.numel() == 0 or x.is_contiguous():
        return x.dim() >= 1
    n = dense_extent(x.shape[1:], x.stride()[1:])
    return n is not None and (x.shape[0] <= 1 or x.stride(0) == n)


def _same_layout(t: torch.Tensor, sizes, strides) -> bool:
    return tuple(t.shape) == tuple(sizes) and all(
        sz == 1 or a == b for sz, a, b in zip(sizes, t.stride(), strides))


def _step_layout(like: torch.Tensor):
    return like.shape[1:], like.stride()[1:]


def empty_state(like: torch.Tensor) -> torch.Tensor:
    """An uninitialised `[...]` state tensor laid out like one time step of ``like``, in the state dtype."""
    sizes, strides = _step_layout(like)
    return torch.empty_strided(sizes, strides, dtype=state_dtype(like.dtype), device=like.device)


def _in_layout(t: Optional[torch.Tensor], like: torch.Tensor, state: bool) -> Optional[torch.Tensor]:
    """``t`` with ``like``'s layout (one step of it when ``state``), copied only when it differs — e.g. the
    expanded gradient of ``sum()``, or a contiguous v_init beside a channels_last x."""
    if t is None:
        return None
    sizes, strides = _step_layout(like) if state else (like.shape, like.stride())
    dtype = state_dtype(like.dtype) if state else like.dtype
    if t.dtype == dtype and _same_layout(t, sizes, strides):
        return t
    out = empty_state(like) if state else torch.empty_like(like)
    return out.copy_(t)


# ---- outputs, fake kernels and autograd, shared by every compiled twin ----

def _nothing(like: torch.Tensor, dtype: torch.dtype) -> torch.Tensor:
    return like.new_empty((0,), dtype=dtype)


def empty_forward_outputs(x, v_init, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, save_h,
                          save_u, decay_t=None, threshold_t=None, charge=0, fire_ge=False):
    """The forward's (s, h, u_final), unwritten, laid out as the contract says; also its fake kernel."""
    h = torch.empty_like(x) if save_h else _nothing(x, x.dtype)
    u = empty_state(x) if save_u else _nothing(x, state_dtype(x.dtype))
    return torch.empty_like(x), h, u


def empty_backward_outputs(x, v_init, h, grad_s, grad_h, grad_u, decay, threshold, v_reset, reset, surrogate,
                           sg_param, detach_reset, need_grad_v, decay_t=None, threshold_t=None, charge=0,
                           fire_ge=False, need_grad_params=False):
    """The backward's (grad_x, grad_v_init, grad_decay, grad_threshold), unwritten; also its fake kernel. A
    parameter's gradient is shaped like the parameter tensor given (one step of x, or one element)."""
    ref = x if x is not None else h
    acc = state_dtype(ref.dtype)

    def state(wanted):
        return empty_state(ref) if wanted else _nothing(ref, acc)

    def param_grad(t):
        if not need_grad_params or t is None:
            return _nothing(ref, acc)
        return ref.new_empty(t.shape, dtype=acc) if t.numel() == 1 else empty_state(ref)
    return torch.empty_like(ref), state(need_grad_v), param_grad(decay_t), param_grad(threshold_t)


def _op(name: str):
    """torch.ops.<namespace>.<op> for "namespace::op"."""
    namespace, op = name.split("::")
    return getattr(getattr(torch.ops, namespace), op)


@dataclass(frozen=True)
class FusedOp:
    """One twin's pair of kernels, and whether its backward recomputes the membrane from x on a device."""
    forward: Callable
    backward: Callable
    recomputes_h: Callable[[torch.device], bool]


# The positions of the forward's arguments (the schema of csrc/lif_ops.cpp); the nine from decay to save_u are not
# differentiable, nor are charge and fire_ge.
_X, _V, _SAVE_H, _SAVE_U, _DECAY_T, _THRESHOLD_T, _CHARGE, _FIRE_GE = 0, 1, 9, 10, 11, 12, 13, 14


def register(forward_name: str, backward_name: str, recomputes_h: Callable[[torch.device], bool]) -> FusedOp:
    """Register this module's fake kernels and autograd formula for a twin's ops; its FusedOp to ``call``."""
    backward = _op(backward_name)

    def setup_context(ctx, inputs, output):
        x, v_init, decay_t, threshold_t = inputs[_X], inputs[_V], inputs[_DECAY_T], inputs[_THRESHOLD_T]
        ctx.set_materialize_grads(False)  # an output nobody differentiates arrives as None, not as zeros
        ctx.scalars = inputs[2:9]
        ctx.equation = (inputs[_CHARGE], inputs[_FIRE_GE])
        ctx.recompute = recomputes_h(x.device)
        ctx.h_saved, ctx.u_saved = inputs[_SAVE_H], inputs[_SAVE_U]
        ctx.param_grads = any(t is not None and t.requires_grad for t in (decay_t, threshold_t))
        # The per-neuron kernels (any parameter tensor) rebuild each step's initial state from v_init, and with the
        # scaled input read x for the rate gradient.
        tensors = decay_t is not None or threshold_t is not None
        keep_x = ctx.recompute or (tensors and inputs[_CHARGE] == 1)
        h = None if ctx.recompute or not ctx.h_saved else output[1]
        ctx.save_for_backward(x if keep_x else None, v_init if keep_x or tensors else None, h, decay_t, threshold_t)

    def backward_formula(ctx, passed, grad_s, grad_h, grad_u):
        """One gradient for each of the ``passed`` arguments' needs_input_grad (the dispatcher drops trailing
        arguments left at their defaults)."""
        none9 = (None,) * 9  # the op's nine scalar arguments
        # An output the forward did not write is an empty placeholder: no gradient flows through it.
        grad_h = grad_h if ctx.h_saved else None
        grad_u = grad_u if ctx.u_saved else None
        if grad_s is None and grad_h is None and grad_u is None:
            return (None,) * len(passed)
        needs = tuple(passed) + (False,) * (_FIRE_GE + 1 - len(passed))
        x, v_init, h, decay_t, threshold_t = ctx.saved_tensors
        if not ctx.recompute and h is None:
            raise RuntimeError("fastlif: this backward reads the membrane h, but the forward ran with save_h=False "
                               "(call the op with save_h=True when a gradient is needed)")
        ref = x if x is not None else h
        need_grad_v = needs[_V]
        grad_x, grad_v, grad_decay, grad_threshold = backward(
            x, v_init, h, _in_layout(grad_s, ref, False), _in_layout(grad_h, ref, False),
            _in_layout(grad_u, ref, True), *ctx.scalars, need_grad_v, decay_t, threshold_t, *ctx.equation,
            ctx.param_grads)
        grads = ((grad_x, grad_v if need_grad_v else None) + none9 +
                 (grad_decay if needs[_DECAY_T] else None, grad_threshold if needs[_THRESHOLD_T] else None,
                  None, None))
        return grads[:len(passed)]

    torch.library.register_fake(forward_name, empty_forward_outputs)
    torch.library.register_fake(backward_name, empty_backward_outputs)
    _register_autograd(forward_name, setup_context, backward_formula)
    return FusedOp(_op(forward_name), backward, recomputes_h)


_AUTOGRAD_LIBS = {}  # namespace -> the Library that holds this module's Autograd kernels (alive while registered)


def _register_autograd(name: str, setup_context: Callable, backward_formula: Callable) -> None:
    """The op's Autograd kernel: what ``torch.library.register_autograd`` registers, less its per-call cost — torch
    fills the arguments the dispatcher dropped by re-reading the op's schema once per argument on every call
    (``torch._library.utils.fill_defaults``: ~140 µs a call with this op's 15 arguments, by cProfile; a small
    layer's whole forward+backward is ~85 µs without it); here the defaults are read from the schema once. The
    Triton op, a ``custom_op``, already has torch's kernel under the Autograd key: this one replaces it."""
    op = _op(name).default
    defaults = tuple(a.default_value for a in op._schema.arguments)
    below = torch._C._after_autograd_keyset

    def redispatch(keyset, args):
        with torch._C._AutoDispatchBelowAutograd():
            return op.redispatch(keyset & below, *args)

    class Fused(torch.autograd.Function):
        @staticmethod
        def forward(ctx, *args_and_keyset):
            *args, keyset = args_and_keyset
            output = redispatch(keyset, args)
            setup_context(ctx, tuple(args) + defaults[len(args):], output)
            return output

        @staticmethod
        def backward(ctx, *grads):
            return (*backward_formula(ctx, ctx.needs_input_grad[:-1], *grads), None)

    def kernel(keyset, *args):
        if torch.is_grad_enabled() and torch._C._any_requires_grad(*args):
            return Fused.apply(*args, keyset)
        return redispatch(keyset, args)

    namespace, opname = name.split("::")
    if namespace not in _AUTOGRAD_LIBS:
        _AUTOGRAD_LIBS[namespace] = torch.library.Library(namespace, "FRAGMENT")
    with warnings.catch_warnings():  # replacing the custom_op's kernel is the point, not news for the user
        warnings.filterwarnings("ignore", "(?s).*Overriding a previously registered kernel")
        _AUTOGRAD_LIBS[namespace].impl(opname, kernel, "Autograd", with_keyset=True, allow_override=True)


def per_neuron(t: Optional[torch.Tensor], x: torch.Tensor) -> Optional[torch.Tensor]:
    """A decay/threshold tensor broadcastable to one step x[0], as the kernels read it, in the state dtype: one
    element as it is (every neuron reads it: a per-layer parameter costs no copy), else expanded to that step's
    layout. Differentiable (the copy's backward sums the per-neuron gradient back to t's shape)."""
    if t is None:
        return None
    dtype = state_dtype(x.dtype)
    if t.numel() == 1:  # a 0-d tensor as it is: no view op, and no backward node for it
        return (t if t.dim() == 0 else t.reshape(())).to(dtype)
    sizes, strides = _step_layout(x)
    if t.dtype == dtype and _same_layout(t, sizes, strides):
        return t
    return empty_state(x).copy_(t.expand(sizes))


def call(op: FusedOp, x: torch.Tensor, v_init: Optional[torch.Tensor], cfg: LifConfig, return_state: bool,
         want_h: bool = True, decay_t: Optional[torch.Tensor] = None, threshold_t: Optional[torch.Tensor] = None):
    """A backend's forward on validated arguments: spikes, or (spikes, h, u_final) with ``return_state`` — h is
    None when ``want_h`` is False (a stateful neuron that only carries u). ``decay_t`` / ``threshold_t``:
    per-neuron parameters (broadcastable to x[0]) that replace cfg's scalars."""
    x = x if time_major_dense(x) else x.contiguous()
    v = _in_layout(v_init, x, True)
    d, th = per_neuron(decay_t, x), per_neuron(threshold_t, x)
    needs_grad = torch.is_grad_enabled() and any(t is not None and t.requires_grad for t in (x, v, d, th))
    want_h = return_state and want_h
    save_h = want_h or (needs_grad and not op.recomputes_h(x.device))
    s, h, u = op.forward(x, v, cfg.rate, cfg.threshold, cfg.v_reset, cfg.reset_id, cfg.surrogate.kind_id,
                         cfg.surrogate.param, cfg.detach_reset, save_h, return_state, d, th, cfg.charge_id,
                         cfg.fire_ge)
    if not return_state:
        return s
    return s, h if want_h else None, u


# The CPU kernels recompute the membrane in backward; the CUDA ones read it (their recompute is not written yet).
COMPILED = None if LOAD_ERROR else register("fastlif::lif_forward", "fastlif::lif_backward",
                                            lambda device: device.type == "cpu")


def run(x, v_init, cfg: LifConfig, return_state: bool, want_h: bool = True, decay_t=None, threshold_t=None):
    """The "cpu"/"cuda" backend on validated arguments."""
    return call(COMPILED, x, v_init, cfg, return_state, want_h, decay_t, threshold_t)
