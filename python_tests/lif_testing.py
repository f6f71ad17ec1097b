"""Shared helpers for the LIF kernel tests: option grids, per-dtype tolerances, and SPEC-§2 backward from a stored
membrane (so fp16/bf16 kernels, whose backward reads the rounded membrane, can be checked to fp32 precision)."""
import itertools

import torch

from fastlif import surrogate as sg
from fastlif.config import LifConfig, state_dtype

DTYPES = (torch.float32, torch.float64, torch.float16, torch.bfloat16)
# Gradient tolerance (relative to the largest magnitude) when a kernel is compared with the reference.
GRAD_RTOL = {torch.float64: 1e-10, torch.float32: 1e-5, torch.float16: 2e-3, torch.bfloat16: 1.6e-2}
SURROGATES = (sg.Triangle(0.8), sg.Rectangle(1.2), sg.Sigmoid(3.0), sg.ATan(2.5), sg.SuperSpike(8.0))
OPTIONS = [dict(reset=r, detach_reset=d, surrogate=s)
           for r, d, s in itertools.product(("hard", "soft"), (False, True), SURROGATES)]


def near_threshold(h_ref: torch.Tensor, threshold: float, ulps: int = 4) -> torch.Tensor:
    """Where the reference membrane lies within a few ulps of the threshold (a spike may legitimately flip)."""
    eps = torch.finfo(h_ref.dtype).eps
    return (h_ref.double() - threshold).abs() <= ulps * eps * max(abs(threshold), 1.0)


def backward_from_membrane(h, grad_s, grad_h, grad_u, cfg: LifConfig):
    """SPEC §2 written out: dL/dx and dL/dv_init from the membrane h `[T, ...]` (the spike is h > threshold)."""
    acc = state_dtype(h.dtype)
    h = h.to(acc)
    du = torch.zeros_like(h[0]) if grad_u is None else grad_u.to(acc)
    dx = torch.empty_like(h)
    for t in reversed(range(h.shape[0])):
        g = cfg.surrogate(h[t] - cfg.threshold)
        s = (h[t] > cfg.threshold).to(acc)
        if cfg.reset == "hard":
            dudh = (1 - s) if cfg.detach_reset else (1 - s) + (cfg.v_reset - h[t]) * g
        else:
            dudh = torch.ones_like(g) if cfg.detach_reset else 1 - cfg.threshold * g
        dh = grad_s[t].to(acc) * g + du * dudh
        if grad_h is not None:
            dh = dh + grad_h[t].to(acc)
        dx[t] = dh
        du = cfg.decay * dh
    return dx, du


def assert_close_rel(actual, expected, rtol, what):
    a, e = actual.double(), expected.double()
    scale = max(e.abs().max().item(), 1.0)
    err = (a - e).abs().max().item() if a.numel() else 0.0
    assert err <= rtol * scale, f"{what}: max abs error {err:.3g} > {rtol:g} × {scale:.3g}"
