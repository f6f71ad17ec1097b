"""The ``"triton"`` backend: fused multi-step LIF forward and backward kernels (SPEC §1–3).

Layout: ``x`` `[T, ...]`, dense with time outermost (fastlif/ops.py's rule), is walked as `[T, N]` rows of memory;
one program owns BLOCK neurons and walks the time axis with the membrane in fp32 registers, so every element of x,
s, h, grad_s and dx crosses memory once (SPEC §9). The forward writes spikes, the pre-reset membrane h and the final
state only as the op contract asks; the backward is one reverse pass over grad_s and the saved h.

The kernels are registered as ``torch.library.custom_op`` s (``fastlif::lif_forward_triton`` /
``fastlif::lif_backward_triton``) with the schema of the compiled ops, and get the contract's fake kernels and
autograd formula from fastlif/ops.py, so ``torch.compile(fullgraph=True)`` traces models that use them. Not
``triton_op``: its fake implementation is the
op body run on FakeTensors, which only works while ``wrap_triton`` turns the launch into a graph node — under
TRITON_INTERPRET=1 ``wrap_triton`` hands back the interpreted kernel itself, which then reads the FakeTensors'
data and fails. A custom op behaves the same with and without the interpreter, so what CI tests is what runs.

fp64 is rejected: Triton passes Python floats to kernels as fp32, so decay/threshold/v_reset would silently lose
the precision an fp64 run (gradcheck) exists for. The reference and the compiled cpu/cuda backends take fp64.
"""
from __future__ import annotations

import os
from typing import Optional

import torch
import triton
import triton.language as tl

from ..config import LifConfig
from .. import ops

# Time loops up to this length are unrolled at compile time (tl.static_range); longer ones run as a loop.
MAX_UNROLL = 8
# Under the interpreter every program is a Python loop iteration: few, wide programs are fastest, and the
# autotuner (which times kernels with CUDA events) cannot run.
INTERPRET_BLOCK = 1024
SUPPORTED_DTYPES = (torch.float16, torch.bfloat16, torch.float32)


# Read once, like triton.jit does when it decorates the kernels below: they are interpreted for the whole process.
INTERPRETED = os.environ.get("TRITON_INTERPRET", "0") == "1"


_TUNE_CONFIGS = [
    triton.Config({"BLOCK": 256}, num_warps=2),
    triton.Config({"BLOCK": 512}, num_warps=4),
    triton.Config({"BLOCK": 1024}, num_warps=4),
    triton.Config({"BLOCK": 1024}, num_warps=8),
    triton.Config({"BLOCK": 2048}, num_warps=8),
]


def _tuned(kernel):
    """Autotune BLOCK/num_warps per neuron count on a GPU; a fixed BLOCK under the interpreter."""
    return kernel if INTERPRETED else triton.autotune(configs=_TUNE_CONFIGS, key=["N"])(kernel)


@triton.jit
def _decay_times(decay, u, EXACT_MUL: tl.constexpr):
    """decay * u, rounded on its own. The charge must be ``decay*u + x`` as two roundings, like the reference;
    Triton's LLVM pipeline would otherwise contract it into one fma and move spikes that sit within an ulp of the
    threshold. An explicit rounding modifier (mul.rn) is the PTX way to forbid that contraction."""
    if EXACT_MUL:
        prod = tl.inline_asm_elementwise("mul.rn.f32 $0, $1, $2;", "=r,r,r", [u, decay], dtype=tl.float32,
                                         is_pure=True, pack=1)
    else:
        prod = decay * u
    return prod


@triton.jit
def _surrogate(z, KIND: tl.constexpr, param):
    """sg(z), z = h - threshold; KIND is fastlif.surrogate's kind_id (SPEC §3)."""
    if KIND == 0:    # triangle
        g = tl.maximum(param - tl.abs(z), 0.0) / (param * param)
    elif KIND == 1:  # rectangle
        g = tl.where(tl.abs(z) < param * 0.5, 1.0 / param, 0.0)
    elif KIND == 2:  # sigmoid
        sig = tl.sigmoid(param * z)
        g = param * sig * (1.0 - sig)
    elif KIND == 3:  # atan
        w = (1.5707963267948966 * param) * z
        g = param / (2.0 * (1.0 + w * w))
    else:            # superspike
        d = 1.0 + param * tl.abs(z)
        g = (param * 0.5) / (d * d)
    return g


@triton.jit
def _round_to(v, OUT: tl.constexpr):
    """fp32 ``v`` rounded to nearest-even in OUT, like torch's ``.to(OUT)``. bf16 is rounded by hand on the bits:
    the interpreter's fp32 -> bf16 cast truncates, and this keeps it bit-identical to the compiled kernel."""
    if OUT == tl.bfloat16:
        bits = v.to(tl.int32, bitcast=True)
        nearest_even = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16).to(tl.int16).to(tl.bfloat16, bitcast=True)
        out = tl.where(v == v, nearest_even, v.to(tl.bfloat16))  # NaN payloads could round into inf
    else:
        out = v.to(OUT)
    return out


@triton.jit
def _membrane_to_store(h, spike, threshold, OUT: tl.constexpr):
    """h rounded to the output dtype such that ``float(stored) > threshold`` still equals the spike.

    The backward re-derives the spike from the stored h; if fp16/bf16 rounding carried h across the threshold,
    step the stored value one ulp back to the spike's side. Both cases hold positive values (threshold > 0),
    whose bit patterns order like the values, so one ulp is ±1 on the bits.
    """
    stored = _round_to(h, OUT)
    if OUT != tl.float32:
        wrong = (stored.to(tl.float32) > threshold) != spike
        bits = stored.to(tl.int16, bitcast=True)
        fixed = tl.where(spike, bits + 1, bits - 1).to(tl.int16)
        stored = tl.where(wrong, fixed, bits).to(OUT, bitcast=True)
    return stored


@triton.jit
def _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, v_reset,
                  STORE_H: tl.constexpr, SOFT: tl.constexpr, EXACT_MUL: tl.constexpr):
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    h = _decay_times(decay, u, EXACT_MUL) + x
    spike = h > threshold
    # via fp32: the interpreter (triton 3.8) mis-sizes a direct bool -> bf16 cast
    tl.store(s_ptr + offs, tl.where(spike, 1.0, 0.0).to(s_ptr.dtype.element_ty), mask=mask)
    if STORE_H:
        tl.store(h_ptr + offs, _membrane_to_store(h, spike, threshold, h_ptr.dtype.element_ty), mask=mask)
    if SOFT:
        u = tl.where(spike, h - threshold, h)
    else:
        u = tl.where(spike, v_reset, h)
    return u


@triton.jit
def _lif_forward_kernel(x_ptr, v_ptr, s_ptr, h_ptr, u_ptr, T, N, decay, threshold, v_reset,
                        HAS_V: tl.constexpr, STORE_H: tl.constexpr, STORE_U: tl.constexpr, SOFT: tl.constexpr,
                        EXACT_MUL: tl.constexpr, UNROLL: tl.constexpr, BLOCK: tl.constexpr):
    # 64-bit: program_id * BLOCK overflows int32 for N >= 2^31 neurons.
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    if HAS_V:
        u = tl.load(v_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        u = tl.zeros([BLOCK], dtype=tl.float32)
    # Advancing the row pointers (instead of indexing t * N) keeps the offsets below N for any T.
    if UNROLL > 0:
        for _ in tl.static_range(UNROLL):
            u = _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, v_reset,
                              STORE_H, SOFT, EXACT_MUL)
            x_ptr += N
            s_ptr += N
            if STORE_H:
                h_ptr += N
    else:
        for _ in range(T):
            u = _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, v_reset,
                              STORE_H, SOFT, EXACT_MUL)
            x_ptr += N
            s_ptr += N
            if STORE_H:
                h_ptr += N
    if STORE_U:
        tl.store(u_ptr + offs, u, mask=mask)


@triton.jit
def _backward_step(gs_ptr, gh_ptr, h_ptr, dx_ptr, offs, mask, du, decay, threshold, v_reset, sg_param,
                   HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, SOFT: tl.constexpr, DETACH: tl.constexpr,
                   SURROGATE: tl.constexpr):
    h = tl.load(h_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    spike = h > threshold  # the forward's spike, by construction of the stored h
    g = _surrogate(h - threshold, SURROGATE, sg_param)
    if SOFT:
        if DETACH:
            dh = du
        else:
            dh = du * (1.0 - threshold * g)
    else:
        not_s = tl.where(spike, 0.0, 1.0)
        if DETACH:
            dh = du * not_s
        else:
            dh = du * (not_s + (v_reset - h) * g)
    if HAS_GS:
        dh += tl.load(gs_ptr + offs, mask=mask, other=0.0).to(tl.float32) * g
    if HAS_GH:
        dh += tl.load(gh_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    tl.store(dx_ptr + offs, _round_to(dh, dx_ptr.dtype.element_ty), mask=mask)
    return decay * dh


@triton.jit
def _lif_backward_kernel(gs_ptr, gh_ptr, gu_ptr, h_ptr, dx_ptr, dv_ptr, T, N, last_row, decay, threshold, v_reset,
                         sg_param, HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, HAS_GU: tl.constexpr,
                         STORE_GV: tl.constexpr, SOFT: tl.constexpr, DETACH: tl.constexpr, SURROGATE: tl.constexpr,
                         UNROLL: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    if HAS_GU:
        du = tl.load(gu_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        du = tl.zeros([BLOCK], dtype=tl.float32)
    # Start at row T-1 (last_row = (T-1)*N, computed on the host in 64 bits) and walk back one row a step.
    h_ptr += last_row
    dx_ptr += last_row
    if HAS_GS:
        gs_ptr += last_row
    if HAS_GH:
        gh_ptr += last_row
    if UNROLL > 0:
        for _ in tl.static_range(UNROLL):
            du = _backward_step(gs_ptr, gh_ptr, h_ptr, dx_ptr, offs, mask, du, decay, threshold, v_reset,
                                sg_param, HAS_GS, HAS_GH, SOFT, DETACH, SURROGATE)
            h_ptr -= N
            dx_ptr -= N
            if HAS_GS:
                gs_ptr -= N
            if HAS_GH:
                gh_ptr -= N
    else:
        for _ in range(T):
            du = _backward_step(gs_ptr, gh_ptr, h_ptr, dx_ptr, offs, mask, du, decay, threshold, v_reset,
                                sg_param, HAS_GS, HAS_GH, SOFT, DETACH, SURROGATE)
            h_ptr -= N
            dx_ptr -= N
            if HAS_GS:
                gs_ptr -= N
            if HAS_GH:
                gh_ptr -= N
    if STORE_GV:
        tl.store(dv_ptr + offs, du, mask=mask)  # after step t = 1, du = decay * dh[1] = d v_init


_forward_kernel = _tuned(_lif_forward_kernel)
_backward_kernel = _tuned(_lif_backward_kernel)


def _launch_args(n: int) -> tuple:
    """(grid, extra kwargs): the autotuner picks BLOCK on a GPU; the interpreter uses a fixed wide one."""
    if INTERPRETED:
        return (triton.cdiv(n, INTERPRET_BLOCK),), {"BLOCK": INTERPRET_BLOCK}
    return (lambda meta: (triton.cdiv(n, meta["BLOCK"]),)), {}


def _check_ids(reset: int, surrogate: int) -> None:
    if reset not in (0, 1):
        raise ValueError(f"reset must be 0 (hard) or 1 (soft), got {reset}")
    if surrogate not in range(5):
        raise ValueError(f"surrogate must be a fastlif.surrogate kind_id in 0..4, got {surrogate}")


def _check_dense(name: str, t: torch.Tensor) -> None:
    """The kernels walk `[T, N]` rows of memory; direct callers of the op get a clear error instead."""
    if t.dim() == 0 or not ops.time_major_dense(t):
        raise ValueError(f"{name} must be dense with time outermost (e.g. contiguous or channels_last), got shape "
                         f"{tuple(t.shape)} with strides {t.stride()}")


def _exact_mul(x: torch.Tensor) -> bool:
    """Use the PTX mul.rn guard where the kernel is compiled to PTX (NVIDIA, not the interpreter)."""
    return x.is_cuda and torch.version.hip is None and not INTERPRETED


@torch.library.custom_op("fastlif::lif_forward_triton", mutates_args=())
def lif_forward_triton(x: torch.Tensor, v_init: Optional[torch.Tensor], decay: float, threshold: float,
                       v_reset: float, reset: int, surrogate: int, sg_param: float, detach_reset: bool,
                       save_h: bool, save_u: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The compiled ``fastlif::lif_forward``'s schema and contract (fastlif/ops.py), on Triton kernels."""
    _check_dense("x", x)
    _check_ids(reset, surrogate)
    s, h, u = ops.empty_forward_outputs(x, v_init, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset,
                                save_h, save_u)
    T = x.shape[0]
    N = x.numel() // T if T else 0
    if T == 0 and save_u:  # no step: the state is where it started
        u.copy_(v_init) if v_init is not None else u.zero_()
    if T * N > 0:
        grid, meta = _launch_args(N)
        _forward_kernel[grid](
            x, v_init, s, h if save_h else None, u if save_u else None, T, N, decay, threshold, v_reset,
            HAS_V=v_init is not None, STORE_H=save_h, STORE_U=save_u, SOFT=reset == 1, EXACT_MUL=_exact_mul(x),
            UNROLL=T if T <= MAX_UNROLL else 0, **meta)
    return s, h, u


@torch.library.custom_op("fastlif::lif_backward_triton", mutates_args=())
def lif_backward_triton(x: Optional[torch.Tensor], v_init: Optional[torch.Tensor], h: Optional[torch.Tensor],
                        grad_s: Optional[torch.Tensor], grad_h: Optional[torch.Tensor],
                        grad_u: Optional[torch.Tensor], decay: float, threshold: float, v_reset: float, reset: int,
                        surrogate: int, sg_param: float, detach_reset: bool,
                        need_grad_v: bool) -> tuple[torch.Tensor, torch.Tensor]:
    """The compiled ``fastlif::lif_backward``'s schema and contract; the Triton backward reads the saved h."""
    if h is None or x is not None:
        raise ValueError("the Triton backward reads the saved membrane: pass h, not x")
    _check_dense("h", h)
    _check_ids(reset, surrogate)
    dx, dv = ops.empty_backward_outputs(None, v_init, h, grad_s, grad_h, grad_u, decay, threshold, v_reset, reset,
                                surrogate, sg_param, detach_reset, need_grad_v)
    T = h.shape[0]
    N = h.numel() // T if T else 0
    if T == 0 and need_grad_v:  # no step: dL/dv_init is dL/du_final
        dv.copy_(grad_u) if grad_u is not None else dv.zero_()
    if T * N > 0:
        grid, meta = _launch_args(N)
        _backward_kernel[grid](
            grad_s, grad_h, grad_u, h, dx, dv if need_grad_v else None, T, N, (T - 1) * N, decay, threshold,
            v_reset, sg_param, HAS_GS=grad_s is not None, HAS_GH=grad_h is not None, HAS_GU=grad_u is not None,
            STORE_GV=need_grad_v, SOFT=reset == 1, DETACH=detach_reset, SURROGATE=surrogate,
            UNROLL=T if T <= MAX_UNROLL else 0, **meta)
    return dx, dv


TRITON = ops.register("fastlif::lif_forward_triton", "fastlif::lif_backward_triton", lambda device: False)


def run(x: torch.Tensor, v_init: Optional[torch.Tensor], cfg: LifConfig, return_state: bool, want_h: bool = True):
    """The "triton" backend on validated arguments."""
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"the triton backend takes x in fp16, bf16 or fp32, got {x.dtype} "
                        "(use backend='cpu', 'cuda' or 'reference' for fp64)")
    return ops.call(TRITON, x, v_init, cfg, return_state, want_h)
