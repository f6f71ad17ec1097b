"""The compiled operators ``torch.ops.fastlif.lif_forward`` / ``lif_backward`` (csrc/lif_ops.cpp) with their
autograd and fake (meta) registrations, so ``torch.compile(fullgraph=True)`` traces them without graph breaks.

Shared by the "cpu" and "cuda" backends: the dispatcher picks the kernel from the tensor's device. The forward op
takes the surrogate arguments it does not use because ``register_autograd`` hands backward only forward's inputs.
"""
from __future__ import annotations

import torch

from .config import LifConfig, state_dtype

try:
    from . import _C  # noqa: F401  (importing it registers the ops)
    LOAD_ERROR = None
except ImportError as err:  # the reference and Triton twins still work without the extension
    LOAD_ERROR = (f"fastlif._C failed to import ({err}); rebuild it with "
                  "`pip install -e . --no-build-isolation` (or `make build`)")


# Read once: asking the op during torch.compile tracing would be a graph break.
_BUILT_WITH_CUDA = LOAD_ERROR is None and bool(torch.ops.fastlif.built_with_cuda())


def built_with_cuda() -> bool:
    return _BUILT_WITH_CUDA


if LOAD_ERROR is None:
    @torch.library.register_fake("fastlif::lif_forward")
    def _lif_forward_fake(x, v_init, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset, save_h):
        h = torch.empty_like(x) if save_h else x.new_empty((0,))
        return torch.empty_like(x), h, x.new_empty(x.shape[1:], dtype=state_dtype(x.dtype))

    @torch.library.register_fake("fastlif::lif_backward")
    def _lif_backward_fake(grad_s, grad_h, grad_u, h, decay, threshold, v_reset, reset, surrogate, sg_param,
                           detach_reset):
        return torch.empty_like(h), h.new_empty(h.shape[1:], dtype=state_dtype(h.dtype))

    def _setup_context(ctx, inputs, output):
        ctx.save_for_backward(output[1])
        ctx.scalars = inputs[2:9]
        ctx.has_v_init = inputs[1] is not None  # the op takes v_init in the state dtype, as grad_v comes out

    def _backward(ctx, grad_s, grad_h, grad_u):
        (h,) = ctx.saved_tensors
        if h.numel() == 0 and grad_s.numel() != 0:
            raise RuntimeError("fastlif: backward through a forward run without save_h")
        grad_x, grad_v = torch.ops.fastlif.lif_backward(grad_s, grad_h, grad_u, h, *ctx.scalars)
        return (grad_x, grad_v if ctx.has_v_init else None) + (None,) * 8

    torch.library.register_autograd("fastlif::lif_forward", _backward, setup_context=_setup_context)


def call_flat(op, x, v_init, cfg: LifConfig, return_state: bool):
    """Run a fused forward op (this file's, or the Triton twin's) on the `[T, N]` view of validated arguments and
    give the results x's shape back."""
    T = x.shape[0]
    x2 = x.contiguous().view(T, -1)
    v2 = None if v_init is None else v_init.to(state_dtype(x.dtype)).contiguous().view(-1)
    needs_grad = torch.is_grad_enabled() and (x.requires_grad or (v_init is not None and v_init.requires_grad))
    s, h, u = op(x2, v2, cfg.decay, cfg.threshold, cfg.v_reset, cfg.reset_id, cfg.surrogate.kind_id,
                 cfg.surrogate.param, cfg.detach_reset, return_state or needs_grad)
    s = s.view(x.shape)
    if not return_state:
        return s
    return s, h.view(x.shape), u.view(x.shape[1:])


def run(x, v_init, cfg: LifConfig, return_state: bool):
    """The "cpu"/"cuda" backend on validated arguments."""
    return call_flat(torch.ops.fastlif.lif_forward, x, v_init, cfg, return_state)
