"""Shared helpers for the LIF kernel tests: option grids, per-dtype tolerances, and SPEC-§2 backward from a stored
membrane (so fp16/bf16 kernels whose backward reads the rounded membrane can be checked to fp32 precision; those
that recompute it from x in fp32 are checked against the reference's gradients directly)."""
import itertools
import json
import os
import subprocess
import sys
from pathlib import Path

import torch
from torch.utils._python_dispatch import TorchDispatchMode

import fastlif
from fastlif import ops, reference
from fastlif import surrogate as sg
from fastlif.config import LifConfig, state_dtype

# (backend, device) of every compiled twin this machine runs: the extension's CPU kernel when it is built, its CUDA
# kernel when a GPU is visible, and Triton (on the GPU, else under its interpreter on CPU tensors).
BACKENDS = ([("cpu", "cpu")] if ops.LOAD_ERROR is None else []) \
    + ([("cuda", "cuda")] if "cuda" in fastlif.backends() else []) \
    + [("triton", "cuda" if torch.cuda.is_available() else "cpu")]
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


def run_with_grads(fn, x, v_init, gs, gh, gu):
    """(s, h, u, dL/dx[, dL/dv_init]) of ``fn(x, v_init) -> (s, h, u)`` for L = Σ s·gs + h·gh + u·gu."""
    xx = x.detach().clone().requires_grad_()
    vv = None if v_init is None else v_init.detach().clone().requires_grad_()
    s, h, u = fn(xx, vv)
    loss = (s.double() * gs).sum() + (h.double() * gh).sum() + (u.double() * gu).sum()
    return (s, h, u) + tuple(torch.autograd.grad(loss, [xx] + ([vv] if vv is not None else [])))


def recomputes_membrane(backend: str, device: torch.device) -> bool:
    """Whether ``backend``'s backward recomputes h from x (fastlif/ops.py's FusedOp) rather than reading it."""
    if backend == "triton":
        from fastlif.triton import lif
        return lif.TRITON.recomputes_h(device)
    return fastlif.ops.COMPILED.recomputes_h(device)


def assert_matches_reference(backend, x, v_init, gs, gh, gu, decay, threshold, v_reset, option):
    """A compiled backend against the reference on the same inputs and upstream gradients.

    The charge is multiply-then-add in every twin, so spikes agree bitwise; a flip is tolerated only within a few
    ulps of the threshold and must stay rare. fp16/bf16 return h rounded (one ulp toward the spike's side where
    rounding would change the spike it implies). A backward that recomputes the membrane from x works on the same
    fp32 values as the reference, so its gradients are compared with the reference's; one that reads the stored
    16-bit membrane is checked against SPEC §2 on that membrane.
    """
    kw = dict(decay=decay, threshold=threshold, v_reset=v_reset, **option)
    s, h, u, *grads = run_with_grads(
        lambda x, v: fastlif.lif_sequence(x, v_init=v, return_state=True, backend=backend, **kw), x, v_init, gs, gh, gu)
    s_r, h_r, u_r, *grads_r = run_with_grads(
        lambda x, v: reference.lif_sequence(x, v_init=v, return_state=True, **kw), x, v_init, gs, gh, gu)
    dtype, acc = x.dtype, state_dtype(x.dtype)
    assert s.dtype == dtype and s.shape == x.shape and s.device == x.device and u.dtype == acc
    flips = s != s_r
    assert not (flips & ~near_threshold(h_r.to(acc), threshold)).any(), "spike differs away from the threshold"
    assert flips.sum() <= 0.001 * s.numel() + 1
    assert torch.equal(u, u_r) or (u - u_r).abs().max() <= 1e-6
    if dtype in (torch.float32, torch.float64):
        torch.testing.assert_close(h, h_r, rtol=1e-6, atol=1e-6)
        for a, b in zip(grads, grads_r):
            assert_close_rel(a, b, GRAD_RTOL[dtype], "grad")
        return
    ulp = torch.finfo(dtype).eps * h_r.double().abs().clamp_min(1.0)
    assert ((h.double() - h_r.double()).abs() <= ulp).all()
    assert torch.equal(h.float() > threshold, s.bool())
    if recomputes_membrane(backend, x.device):
        for a, b in zip(grads, grads_r):
            assert_close_rel(a, b, GRAD_RTOL[dtype], "grad")
        return
    cfg = LifConfig.make(decay, threshold, v_reset, **option)
    dx, dv = backward_from_membrane(h, gs.to(dtype), gh.to(dtype), gu.float(), cfg)
    assert_close_rel(grads[0], dx.to(dtype), GRAD_RTOL[dtype], "grad x")
    if v_init is not None:
        assert_close_rel(grads[1], dv, 1e-5, "grad v_init")


class OpLog(TorchDispatchMode):
    """Every operator call below autograd, as (name, args, outputs): what the kernels were asked to do."""

    def __init__(self):
        super().__init__()
        self.calls = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        out = func(*args, **(kwargs or {}))
        self.calls.append((func.overloadpacket.__name__, args, out))
        return out

    def of(self, name):
        return [(args, out) for n, args, out in self.calls if n == name]


def ptx_facts(probe: str) -> dict:
    """Run ``probe`` (Python that compiles Triton kernels for a GPU target and prints one JSON line) in a fresh
    interpreter with the interpreter off — the kernels of this process are interpreted functions — and return that
    JSON. No GPU is needed: Triton's bundled ptxas builds the PTX."""
    env = dict(os.environ, TRITON_INTERPRET="0")
    root = Path(__file__).resolve().parents[1]
    done = subprocess.run([sys.executable, "-c", probe], env=env, cwd=root, capture_output=True, text=True,
                          timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])
