"""The ``"triton"`` backend: fused multi-step LIF forward and backward kernels (SPEC §1–3).

Layout: ``x`` `[T, ...]`, dense with time outermost (fastlif/ops.py's rule), is walked as `[T, N]` rows of memory;
one program owns BLOCK neurons and walks the time axis with the membrane in fp32 registers, so every element of x,
s, h, grad_s and dx crosses memory once (SPEC §9). The forward writes spikes, the pre-reset membrane h and the final
state only as the op contract asks; the backward is one reverse pass over grad_s and the saved h. The equation's
options (docs/equations.md: the charge, the reset, per-neuron decay/threshold and their gradients) are constexpr
switches, as they are template parameters of the compiled twins.

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

import math
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
def _params(dt_ptr, tt_ptr, fa_ptr, offs, mask, decay, threshold, fire_at, dt_stride, tt_stride,
            HAS_DT: tl.constexpr, HAS_TT: tl.constexpr):
    """This program's neurons' charge parameter, threshold and fire level: loaded once from the per-neuron
    tensors (stride 0: one value for every neuron), or the call's scalars."""
    if HAS_DT:
        decay = tl.load(dt_ptr + offs * dt_stride, mask=mask, other=0.5)
    if HAS_TT:
        threshold = tl.load(tt_ptr + offs * tt_stride, mask=mask, other=1.0)
        fire_at = tl.load(fa_ptr + offs * tt_stride, mask=mask, other=1.0)
    return decay, threshold, fire_at


@triton.jit
def _charge(x, u, decay, threshold, fire_at, v_reset, CHARGE: tl.constexpr, RESET: tl.constexpr,
            EXACT_MUL: tl.constexpr):
    """docs/equations.md's charge, rounded as lif_math.h's charge_step: decay·u + x, or SpikingJelly's scaled
    input u + (x − (u − v_reset))·k; then snnTorch's delayed subtract (RESET 2) from the previous spike."""
    if CHARGE == 0:  # decay
        h = _decay_times(decay, u, EXACT_MUL) + x
    else:  # scaled_input
        h = u + _decay_times(decay, x - (u - v_reset), EXACT_MUL)
    if RESET == 2:
        h = tl.where(u > fire_at, h - threshold, h)
    return h


@triton.jit
def _reset(h, spike, threshold, v_reset, RESET: tl.constexpr):
    if RESET == 0:  # hard
        u = tl.where(spike, v_reset, h)
    elif RESET == 1:  # soft
        u = tl.where(spike, h - threshold, h)
    else:  # subtract_next: the reset lands in the next charge
        u = h
    return u


@triton.jit
def _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, fire_at, v_reset,
                  STORE_H: tl.constexpr, RESET: tl.constexpr, CHARGE: tl.constexpr, EXACT_MUL: tl.constexpr):
    x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    h = _charge(x, u, decay, threshold, fire_at, v_reset, CHARGE, RESET, EXACT_MUL)
    spike = h > fire_at
    # via fp32: the interpreter (triton 3.8) mis-sizes a direct bool -> bf16 cast
    tl.store(s_ptr + offs, tl.where(spike, 1.0, 0.0).to(s_ptr.dtype.element_ty), mask=mask)
    if STORE_H:
        tl.store(h_ptr + offs, _membrane_to_store(h, spike, fire_at, h_ptr.dtype.element_ty), mask=mask)
    return _reset(h, spike, threshold, v_reset, RESET)


@triton.jit
def _lif_forward_kernel(x_ptr, v_ptr, s_ptr, h_ptr, u_ptr, dt_ptr, tt_ptr, fa_ptr, T, N, decay, threshold, fire_at,
                        v_reset, dt_stride, tt_stride, HAS_V: tl.constexpr, STORE_H: tl.constexpr, STORE_U: tl.constexpr,
                        RESET: tl.constexpr, CHARGE: tl.constexpr, HAS_DT: tl.constexpr, HAS_TT: tl.constexpr,
                        EXACT_MUL: tl.constexpr, UNROLL: tl.constexpr, BLOCK: tl.constexpr):
    # 64-bit: program_id * BLOCK overflows int32 for N >= 2^31 neurons.
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    decay, threshold, fire_at = _params(dt_ptr, tt_ptr, fa_ptr, offs, mask, decay, threshold, fire_at, dt_stride,
                                        tt_stride, HAS_DT, HAS_TT)
    if HAS_V:
        u = tl.load(v_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        u = tl.zeros([BLOCK], dtype=tl.float32)
    # Advancing the row pointers (instead of indexing t * N) keeps the offsets below N for any T.
    if UNROLL > 0:
        for _ in tl.static_range(UNROLL):
            u = _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, fire_at, v_reset,
                              STORE_H, RESET, CHARGE, EXACT_MUL)
            x_ptr += N
            s_ptr += N
            if STORE_H:
                h_ptr += N
    else:
        for _ in range(T):
            u = _forward_step(x_ptr, s_ptr, h_ptr, offs, mask, u, decay, threshold, fire_at, v_reset,
                              STORE_H, RESET, CHARGE, EXACT_MUL)
            x_ptr += N
            s_ptr += N
            if STORE_H:
                h_ptr += N
    if STORE_U:
        tl.store(u_ptr + offs, u, mask=mask)


@triton.jit
def _backward_step(gs_ptr, gh_ptr, h_ptr, x_ptr, dx_ptr, v_ptr, offs, mask, t, N, du, ga, gt, decay, threshold,
                   fire_at, v_reset, sg_param, HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, HAS_V: tl.constexpr,
                   RESET: tl.constexpr, CHARGE: tl.constexpr, DETACH: tl.constexpr, SURROGATE: tl.constexpr,
                   GRADS: tl.constexpr):
    """One reverse step (lif_math.h's backward_step, input_grad, state_grad, charge_grads): dx[t] stored; returns
    dL/du[t−1] and the parameter gradients with step t added."""
    h = tl.load(h_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    spike = h > fire_at  # the forward's spike, by construction of the stored h
    g = _surrogate(h - threshold, SURROGATE, sg_param)
    not_s = tl.where(spike, 0.0, 1.0)
    if RESET == 0:
        if DETACH:
            dudh = not_s
            duds = 0.0
        else:
            dudh = not_s + (v_reset - h) * g
            duds = v_reset - h
    elif RESET == 1:
        if DETACH:
            dudh = 1.0
            duds = 0.0
        else:
            dudh = 1.0 - threshold * g
            duds = -threshold
    else:
        dudh = 1.0
        duds = 0.0
    gs = 0.0
    if HAS_GS:
        gs = tl.load(gs_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    dh = du * dudh + gs * g
    if HAS_GH:
        dh += tl.load(gh_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    if CHARGE == 0:
        dx = dh
        du_prev = decay * dh
    else:
        dx = dh * decay
        du_prev = dh - decay * dh
    tl.store(dx_ptr + offs, _round_to(dx, dx_ptr.dtype.element_ty), mask=mask)
    if GRADS:
        d = -(gs + du * duds) * g
        if RESET == 1:
            d = tl.where(spike, d - du, d)
        gt += d
        # The state step t started from: the previous membrane after its reset, or v_init at t = 0.
        has_prev = t > 0
        hp = tl.load(h_ptr - N + offs, mask=mask & has_prev, other=0.0).to(tl.float32)
        up = _reset(hp, hp > fire_at, threshold, v_reset, RESET)
        if HAS_V:
            up = tl.where(has_prev, up, tl.load(v_ptr + offs, mask=mask, other=0.0).to(tl.float32))
        else:
            up = tl.where(has_prev, up, 0.0)
        if CHARGE == 0:
            ga += dh * up
        else:
            x = tl.load(x_ptr + offs, mask=mask, other=0.0).to(tl.float32)
            ga += dh * (x - (up - v_reset))
        if RESET == 2:
            gt = tl.where(up > fire_at, gt - dh, gt)
    return du_prev, ga, gt


@triton.jit
def _lif_backward_kernel(gs_ptr, gh_ptr, gu_ptr, h_ptr, x_ptr, v_ptr, dx_ptr, dv_ptr, dt_ptr, tt_ptr, fa_ptr,
                         gd_ptr, gt_ptr, T, N, last_row, decay, threshold, fire_at, v_reset, sg_param, dt_stride,
                         tt_stride, HAS_GS: tl.constexpr, HAS_GH: tl.constexpr, HAS_GU: tl.constexpr, HAS_V: tl.constexpr,
                         STORE_GV: tl.constexpr, RESET: tl.constexpr, CHARGE: tl.constexpr, DETACH: tl.constexpr,
                         SURROGATE: tl.constexpr, HAS_DT: tl.constexpr, HAS_TT: tl.constexpr, GRADS: tl.constexpr,
                         UNROLL: tl.constexpr, BLOCK: tl.constexpr):
    offs = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < N
    decay, threshold, fire_at = _params(dt_ptr, tt_ptr, fa_ptr, offs, mask, decay, threshold, fire_at, dt_stride,
                                        tt_stride, HAS_DT, HAS_TT)
    if HAS_GU:
        du = tl.load(gu_ptr + offs, mask=mask, other=0.0).to(tl.float32)
    else:
        du = tl.zeros([BLOCK], dtype=tl.float32)
    ga = tl.zeros([BLOCK], dtype=tl.float32)
    gt = tl.zeros([BLOCK], dtype=tl.float32)
    # Start at row T-1 (last_row = (T-1)*N, computed on the host in 64 bits) and walk back one row a step.
    h_ptr += last_row
    dx_ptr += last_row
    if HAS_GS:
        gs_ptr += last_row
    if HAS_GH:
        gh_ptr += last_row
    if GRADS and CHARGE == 1:
        x_ptr += last_row
    t = T - 1
    if UNROLL > 0:
        for _ in tl.static_range(UNROLL):
            du, ga, gt = _backward_step(gs_ptr, gh_ptr, h_ptr, x_ptr, dx_ptr, v_ptr, offs, mask, t, N, du, ga, gt,
                                        decay, threshold, fire_at, v_reset, sg_param, HAS_GS, HAS_GH, HAS_V, RESET,
                                        CHARGE, DETACH, SURROGATE, GRADS)
            t -= 1
            h_ptr -= N
            dx_ptr -= N
            if HAS_GS:
                gs_ptr -= N
            if HAS_GH:
                gh_ptr -= N
            if GRADS and CHARGE == 1:
                x_ptr -= N
    else:
        for _ in range(T):
            du, ga, gt = _backward_step(gs_ptr, gh_ptr, h_ptr, x_ptr, dx_ptr, v_ptr, offs, mask, t, N, du, ga, gt,
                                        decay, threshold, fire_at, v_reset, sg_param, HAS_GS, HAS_GH, HAS_V, RESET,
                                        CHARGE, DETACH, SURROGATE, GRADS)
            t -= 1
            h_ptr -= N
            dx_ptr -= N
            if HAS_GS:
                gs_ptr -= N
            if HAS_GH:
                gh_ptr -= N
            if GRADS and CHARGE == 1:
                x_ptr -= N
    if STORE_GV:
        tl.store(dv_ptr + offs, du, mask=mask)  # after step t = 1, du = decay * dh[1] = d v_init
    if GRADS and HAS_DT:  # a parameter's gradient exists where the parameter does
        tl.store(gd_ptr + offs, ga, mask=mask)
    if GRADS and HAS_TT:
        tl.store(gt_ptr + offs, gt, mask=mask)


_forward_kernel = _tuned(_lif_forward_kernel)
_backward_kernel = _tuned(_lif_backward_kernel)


def _launch_args(n: int) -> tuple:
    """(grid, extra kwargs): the autotuner picks BLOCK on a GPU; the interpreter uses a fixed wide one."""
    if INTERPRETED:
        return (triton.cdiv(n, INTERPRET_BLOCK),), {"BLOCK": INTERPRET_BLOCK}
    return (lambda meta: (triton.cdiv(n, meta["BLOCK"]),)), {}


def _check_ids(reset: int, surrogate: int, charge: int) -> None:
    if reset not in (0, 1, 2):
        raise ValueError(f"reset must be 0 (hard), 1 (soft) or 2 (subtract_next), got {reset}")
    if charge not in (0, 1) or (charge == 1 and reset == 2):
        raise ValueError(f"charge must be 0 (decay) or 1 (scaled input, not with reset 2), got {charge}")
    if surrogate not in range(5):
        raise ValueError(f"surrogate must be a fastlif.surrogate kind_id in 0..4, got {surrogate}")


def _fire_levels(threshold: float, threshold_t: Optional[torch.Tensor], fire_ge: bool):
    """The value h must exceed to spike (lif_math.h's fire_level): the threshold, or for '>=' the next fp32 below
    it (h >= θ ⟺ h > nextafter(θ, −∞)); per neuron when the threshold is a tensor."""
    below = torch.tensor(-math.inf)
    level = torch.tensor(threshold, dtype=torch.float32)
    scalar = float(torch.nextafter(level, below)) if fire_ge else float(level)
    tensor = None
    if threshold_t is not None:
        tensor = torch.nextafter(threshold_t, below.to(threshold_t)) if fire_ge else threshold_t
    return scalar, tensor


def _strides(decay_t: Optional[torch.Tensor], threshold_t: Optional[torch.Tensor]) -> tuple:
    """The per-neuron tensors' strides: 0 for a one-element tensor (every neuron reads it), else 1."""
    return tuple(0 if t is not None and t.numel() == 1 else 1 for t in (decay_t, threshold_t))


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
                       save_h: bool, save_u: bool, decay_t: Optional[torch.Tensor] = None,
                       threshold_t: Optional[torch.Tensor] = None, charge: int = 0,
                       fire_ge: bool = False) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The compiled ``fastlif::lif_forward``'s schema and contract (fastlif/ops.py), on Triton kernels."""
    _check_dense("x", x)
    _check_ids(reset, surrogate, charge)
    s, h, u = ops.empty_forward_outputs(x, v_init, decay, threshold, v_reset, reset, surrogate, sg_param, detach_reset,
                                        save_h, save_u)
    T = x.shape[0]
    N = x.numel() // T if T else 0
    if T == 0 and save_u:  # no step: the state is where it started
        u.copy_(v_init) if v_init is not None else u.zero_()
    if T * N > 0:
        fire_at, fire_at_t = _fire_levels(threshold, threshold_t, fire_ge)
        grid, meta = _launch_args(N)
        _forward_kernel[grid](
            x, v_init, s, h if save_h else None, u if save_u else None, decay_t, threshold_t, fire_at_t, T, N, decay,
            threshold, fire_at, v_reset, *_strides(decay_t, threshold_t), HAS_V=v_init is not None, STORE_H=save_h, STORE_U=save_u, RESET=reset,
            CHARGE=charge, HAS_DT=decay_t is not None, HAS_TT=threshold_t is not None, EXACT_MUL=_exact_mul(x),
            UNROLL=T if T <= MAX_UNROLL else 0, **meta)
    return s, h, u


@torch.library.custom_op("fastlif::lif_backward_triton", mutates_args=())
def lif_backward_triton(x: Optional[torch.Tensor], v_init: Optional[torch.Tensor], h: Optional[torch.Tensor],
                        grad_s: Optional[torch.Tensor], grad_h: Optional[torch.Tensor],
                        grad_u: Optional[torch.Tensor], decay: float, threshold: float, v_reset: float, reset: int,
                        surrogate: int, sg_param: float, detach_reset: bool, need_grad_v: bool,
                        decay_t: Optional[torch.Tensor] = None, threshold_t: Optional[torch.Tensor] = None,
                        charge: int = 0, fire_ge: bool = False, need_grad_params: bool = False
                        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The compiled ``fastlif::lif_backward``'s schema and contract; the Triton backward reads the saved h (and x
    for the scaled input's rate gradient)."""
    if h is None:
        raise ValueError("the Triton backward reads the saved membrane: pass h, not x")
    if x is not None and not (charge == 1 and need_grad_params):
        raise ValueError("the Triton backward reads the saved membrane: pass h, not x (x only for the scaled "
                         "input's rate gradient)")
    if charge == 1 and need_grad_params and x is None:
        raise ValueError("the rate gradient of the scaled-input charge reads x: pass x")
    _check_dense("h", h)
    _check_ids(reset, surrogate, charge)
    dx, dv, dd, dt = ops.empty_backward_outputs(None, v_init, h, grad_s, grad_h, grad_u, decay, threshold, v_reset,
                                                reset, surrogate, sg_param, detach_reset, need_grad_v, decay_t,
                                                threshold_t, charge, fire_ge, need_grad_params)
    T = h.shape[0]
    N = h.numel() // T if T else 0
    if T == 0 or N == 0:  # no step: dL/dv_init is dL/du_final, and the parameters acted nowhere
        if need_grad_v:
            dv.copy_(grad_u) if grad_u is not None else dv.zero_()
        if need_grad_params:
            dd.zero_()
            dt.zero_()
    if T * N > 0:
        fire_at, fire_at_t = _fire_levels(threshold, threshold_t, fire_ge)
        grid, meta = _launch_args(N)
        # The kernel sums each parameter's gradient per neuron; a one-element parameter's sums are reduced after.
        dd_n, dt_n = (ops.empty_state(h) if g.numel() == 1 and N > 1 else g for g in (dd, dt))
        _backward_kernel[grid](
            grad_s, grad_h, grad_u, h, x, v_init, dx, dv if need_grad_v else None, decay_t, threshold_t, fire_at_t,
            dd_n if dd.numel() else None, dt_n if dt.numel() else None, T, N, (T - 1) * N, decay,
            threshold, fire_at, v_reset, sg_param, *_strides(decay_t, threshold_t), HAS_GS=grad_s is not None, HAS_GH=grad_h is not None,
            HAS_GU=grad_u is not None, HAS_V=v_init is not None, STORE_GV=need_grad_v, RESET=reset, CHARGE=charge,
            DETACH=detach_reset, SURROGATE=surrogate, HAS_DT=decay_t is not None, HAS_TT=threshold_t is not None,
            GRADS=need_grad_params, UNROLL=T if T <= MAX_UNROLL else 0, **meta)
        for g, g_n in ((dd, dd_n), (dt, dt_n)):
            if g_n is not g:
                g.copy_(g_n.sum().reshape(g.shape))
    return dx, dv, dd, dt


TRITON = ops.register("fastlif::lif_forward_triton", "fastlif::lif_backward_triton", lambda device: False)


def run(x: torch.Tensor, v_init: Optional[torch.Tensor], cfg: LifConfig, return_state: bool, want_h: bool = True,
        decay_t: Optional[torch.Tensor] = None, threshold_t: Optional[torch.Tensor] = None):
    """The "triton" backend on validated arguments."""
    if x.dtype not in SUPPORTED_DTYPES:
        raise TypeError(f"the triton backend takes x in fp16, bf16 or fp32, got {x.dtype} "
                        "(use backend='cpu', 'cuda' or 'reference' for fp64)")
    return ops.call(TRITON, x, v_init, cfg, return_state, want_h, decay_t, threshold_t)
