"""The fused-op contract every compiled twin follows: the compiled ``torch.ops.fastlif.lif_forward`` /
``lif_backward`` (csrc/lif_ops.cpp, CPU and CUDA) and the Triton ``lif_forward_triton`` / ``lif_backward_triton``
(fastlif/triton/lif.py) differ only in the kernels they launch. This module owns, once for all of them:

- the layout rule: ``x`` `[T, ...]` goes to the kernels as it is when it is dense with time outermost
  (contiguous, channels_last, any dense permutation of the neuron dims), else as a contiguous copy; outputs keep
  its strides, state tensors (v_init, u_final, grad_u, grad_v) those of one time step;
- which outputs are written: spikes always, the membrane ``h`` only when returned or when a backward that cannot
  recompute it will read it, ``u_final`` only when returned, ``grad_v`` only when ``v_init`` needs a gradient;
- the fake (meta) kernels, so ``torch.compile(fullgraph=True)`` traces the ops without graph breaks;
- one autograd formula: no zero-filled gradients (outputs nobody differentiates arrive as None and reach the
  kernels as null pointers), the membrane recomputed from x where the backend's backward can (the CPU: the 5w
  variant of docs/equations.md's traffic model, measured faster than saving h), read from the saved h elsewhere,
  and one error when it was not saved.
"""
from __future__ import annotations

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
                          save_u):
    """The forward's (s, h, u_final), unwritten, laid out as the contract says; also its fake kernel."""
    h = torch.empty_like(x) if save_h else _nothing(x, x.dtype)
    u = empty_state(x) if save_u else _nothing(x, state_dtype(x.dtype))
    return torch.empty_like(x), h, u


def empty_backward_outputs(x, v_init, h, grad_s, grad_h, grad_u, decay, threshold, v_reset, reset, surrogate,
                           sg_param, detach_reset, need_grad_v):
    """The backward's (grad_x, grad_v_init), unwritten; also its fake kernel."""
    ref = x if x is not None else h
    return torch.empty_like(ref), empty_state(ref) if need_grad_v else _nothing(ref, state_dtype(ref.dtype))


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


def register(forward_name: str, backward_name: str, recomputes_h: Callable[[torch.device], bool]) -> FusedOp:
    """Register this module's fake kernels and autograd formula for a twin's ops; its FusedOp to ``call``."""
    backward = _op(backward_name)

    def setup_context(ctx, inputs, output):
        x, v_init, save_h, save_u = inputs[0], inputs[1], inputs[9], inputs[10]
        ctx.set_materialize_grads(False)  # an output nobody differentiates arrives as None, not as zeros
        ctx.scalars = inputs[2:9]
        ctx.recompute = recomputes_h(x.device)
        ctx.h_saved, ctx.u_saved = save_h, save_u
        if ctx.recompute:
            ctx.save_for_backward(x, v_init)
        else:
            ctx.save_for_backward(output[1] if save_h else None)

    def backward_formula(ctx, grad_s, grad_h, grad_u):
        none = (None,) * 9  # the op's nine non-tensor arguments
        # An output the forward did not write is an empty placeholder: no gradient flows through it.
        grad_h = grad_h if ctx.h_saved else None
        grad_u = grad_u if ctx.u_saved else None
        if grad_s is None and grad_h is None and grad_u is None:
            return (None, None) + none
        if ctx.recompute:
            x, v_init = ctx.saved_tensors
            h = None
        elif ctx.h_saved:
            (h,) = ctx.saved_tensors
            x = v_init = None
        else:
            raise RuntimeError("fastlif: this backward reads the membrane h, but the forward ran with save_h=False "
                               "(call the op with save_h=True when a gradient is needed)")
        ref = x if x is not None else h
        need_grad_v = ctx.needs_input_grad[1]
        grad_x, grad_v = backward(x, v_init, h, _in_layout(grad_s, ref, False), _in_layout(grad_h, ref, False),
                                  _in_layout(grad_u, ref, True), *ctx.scalars, need_grad_v)
        return (grad_x, grad_v if need_grad_v else None) + none

    torch.library.register_fake(forward_name, empty_forward_outputs)
    torch.library.register_fake(backward_name, empty_backward_outputs)
    torch.library.register_autograd(forward_name, backward_formula, setup_context=setup_context)
    return FusedOp(_op(forward_name), backward, recomputes_h)


def call(op: FusedOp, x: torch.Tensor, v_init: Optional[torch.Tensor], cfg: LifConfig, return_state: bool,
         want_h: bool = True):
    """A backend's forward on validated arguments: spikes, or (spikes, h, u_final) with ``return_state`` — h is
    None when ``want_h`` is False (a stateful neuron that only carries u)."""
    x = x if time_major_dense(x) else x.contiguous()
    v = _in_layout(v_init, x, True)
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or (v is not None and v.requires_grad))
    want_h = return_state and want_h
    save_h = want_h or (needs_grad and not op.recomputes_h(x.device))
    s, h, u = op.forward(x, v, cfg.decay, cfg.threshold, cfg.v_reset, cfg.reset_id, cfg.surrogate.kind_id,
                         cfg.surrogate.param, cfg.detach_reset, save_h, return_state)
    if not return_state:
        return s
    return s, h if want_h else None, u


# The CPU kernels recompute the membrane in backward; the CUDA ones read it (their recompute is not written yet).
COMPILED = None if LOAD_ERROR else register("fastlif::lif_forward", "fastlif::lif_backward",
                                            lambda device: device.type == "cpu")


def run(x, v_init, cfg: LifConfig, return_state: bool, want_h: bool = True):
    """The "cpu"/"cuda" backend on validated arguments."""
    return call(COMPILED, x, v_init, cfg, return_state, want_h)
