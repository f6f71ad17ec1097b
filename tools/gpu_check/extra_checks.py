"""GPU checks that python_tests/ does not make, for devcheck.sh (each check is independent; none stops the others).

    python tools/gpu_check/extra_checks.py --out $OUT/extra.json [--only NAME ...]
    GPU_CHECK_DEVICE=cpu python tools/gpu_check/extra_checks.py    # dry run of the op calls, no GPU needed

One JSON object per row goes to stdout and into --out, rewritten after every row so that a step timeout keeps what
finished: {"check", "status", ...}; status is "pass", "FAIL" (a defect found), "info" (a measurement) or "skip".
Checks in run order; the dry run makes those marked * on CPU tensors (the compiled op's CPU kernels, Triton's
interpreter) at small sizes, and skips the rest:

  kernel_paths          the CUDA instantiation a spikes-only training step takes (vector width, SaveH, HasGradH)
                        for aligned, ragged, misaligned and small N, and no fill kernel anywhere in it
* no_zero_grads         spikes-only loss: the backward op gets grad_h = grad_u = None, no aten op fills zeros, and
                        the forward saves h exactly when the backward reads it (CUDA, Triton) instead of x (CPU)
* streaming_inference   stateful LIFSequence under no_grad: every forward runs with save_h=False, save_u=True (no h
                        written) and the chunks equal one reference run
* t_zero_op             direct op calls with T = 0: u = v_init (a copy), zeros without v_init, grad_v = grad_u
  stream_order          kernels enqueue on the current (side) stream: a 0.1 s sleep before each input exists
  cuda_graph            forward + backward captured in a CUDA graph and replayed on new data equal eager
* large_n               N >= 2^31 with T*N > 2^31 (ragged and 16-byte vectors), in subprocesses (large_n.py)
  triton_at_scale       Triton vs reference at N = 2^18 (16-byte vectors, many programs) and 2^18+3 (ragged)
  cpu_gpu_bitwise       CUDA vs CPU kernels: forward bitwise in fp32 and bf16; the backward difference as info
  bandwidth             direct-op timings at T = 8, N = 2^22 against a 1 GiB copy (info)
"""
from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import time
import traceback
from pathlib import Path

import torch

import lif_calls as calls  # first: puts the project root on sys.path and registers the ops

import fastlif
from fastlif import ops, reference
from fastlif.triton import lif

KIT = Path(__file__).resolve().parent
sys.path.insert(0, str(calls.ROOT / "python_tests"))  # lif_testing
from lif_testing import OpLog  # noqa: E402
DEV = calls.DEVICE
CUDA = DEV.type == "cuda"
# Enough neurons for the CUDA kernels' 16-byte vectors (>= 2^15 of them); a dry run only checks the calls.
N_VEC = 1 << 18 if CUDA else 4096
# (backend, T, N): N >= 2^31 and T*N > 2^31 in one shape, ~49 GiB. Ragged N runs the CUDA kernel one neuron per
# thread, so the thread index itself passes 2^31; N % 8 == 0 runs its 16-byte vectors over the same offsets (Triton
# once only: each shape costs it ~20 s of autotuned compiles).
BIG = 1 << 31 if CUDA else 1 << 13
LARGE = [(calls.BACKENDS[0], 2, BIG + 1027), ("triton", 2, BIG + 1027), (calls.BACKENDS[0], 2, BIG + 1024)]
ZERO_FILLS = ("zeros", "zeros_like", "new_zeros", "zero_", "fill_", "full", "full_like", "new_full")

RESULTS: list[dict] = []
OUT: Path | None = None


def record(check: str, status: str, **info) -> None:
    row = dict(check=check, status=status, **info)
    RESULTS.append(row)
    print(json.dumps(row, default=str), flush=True)
    if OUT:
        OUT.write_text(json.dumps(RESULTS, indent=1, default=str))


def _recomputes_h(backend: str) -> bool:
    return (lif.TRITON if backend == "triton" else ops.COMPILED).recomputes_h(DEV)


# ---------------------------------------------------------------------------------------------------------------

def _kernel_args(name: str, which: str):
    m = re.search(which + r"_kernel<([^<>]*)>", name)
    return None if m is None else [a.strip() for a in m.group(1).split(",")]


def _profile_kernels(fn) -> list[str]:
    from torch.profiler import ProfilerActivity, profile
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        fn()
        torch.cuda.synchronize()
    return [e.key for e in prof.key_averages()]


def check_kernel_paths():
    cases = [  # (label, dtype, T, N, x's storage offset in elements, expected forward / backward vector width)
        ("fp32_aligned", torch.float32, 5, 1 << 18, 0, 4, 4),
        ("bf16_aligned", torch.bfloat16, 5, 1 << 18, 0, 8, 8),
        ("fp16_aligned", torch.float16, 5, 1 << 18, 0, 8, 8),
        ("bf16_at_threshold", torch.bfloat16, 5, 8 << 15, 0, 8, 8),        # exactly kMinVectorThreads vectors
        ("bf16_below_threshold", torch.bfloat16, 5, (8 << 15) - 8, 0, 1, 1),
        ("bf16_ragged", torch.bfloat16, 5, (1 << 18) + 3, 0, 1, 1),
        ("fp32_misaligned_x", torch.float32, 5, 1 << 18, 1, 1, 4),         # backward reads h, grad_s: aligned
        ("fp32_small", torch.float32, 5, 1001, 0, 1, 1),
        ("fp64", torch.float64, 5, 1 << 18, 0, 1, 1),
    ]
    for label, dtype, T, N, shift, want, want_bwd in cases:
        flat = torch.empty(T * N + shift, device=DEV, dtype=dtype)
        flat[shift:].view(T, N).copy_(torch.randn(T, N, device=DEV) + 0.5)
        x = flat[shift:].view(T, N).detach().requires_grad_()  # same (mis)aligned data_ptr
        gs = torch.randn(T, N, device=DEV, dtype=dtype)

        def run():
            s = fastlif.lif_sequence(x, backend="cuda", surrogate="sigmoid")
            torch.autograd.grad(s, x, gs)
        keys = _profile_kernels(run)
        fw = [a for a in (_kernel_args(k, "forward") for k in keys) if a]
        bw = [a for a in (_kernel_args(k, "backward") for k in keys) if a]
        fills = [k for k in keys if re.search("fill|memset", k, re.IGNORECASE)]
        fvec, bvec = sorted({int(a[2]) for a in fw}), sorted({int(a[2]) for a in bw})
        save_h, has_gh = sorted({a[-1] for a in fw}), sorted({a[-1] for a in bw})
        # A spikes-only loss: h saved for the backward, no grad_h, and nothing filled with zeros.
        ok = fvec == [want] and bvec == [want_bwd] and save_h == ["true"] and has_gh == ["false"] and not fills
        record("kernel_paths", "pass" if ok else "FAIL", case=label, want_vec=[want, want_bwd], forward_vec=fvec,
               backward_vec=bvec, forward_SaveH=save_h, backward_HasGradH=has_gh, fill_kernels=fills,
               kernels=[k[:120] for k in keys if "_kernel<" in k])


def check_no_zero_grads():
    for be in calls.BACKENDS:
        x = (torch.randn(8, N_VEC, device=DEV) + 0.5).requires_grad_()
        gs = torch.randn_like(x)
        with OpLog() as log:
            s = fastlif.lif_sequence(x, surrogate="sigmoid", backend=be)
            torch.autograd.grad(s, x, gs)
        fcalls, bcalls = log.of(calls.OPS[be][0]), log.of(calls.OPS[be][1])
        if len(fcalls) != 1 or len(bcalls) != 1:
            record("no_zero_grads", "FAIL", backend=be, forward_calls=len(fcalls), backward_calls=len(bcalls))
            continue
        (fargs, (_, h, u)), (bargs, (_, gv)) = fcalls[0], bcalls[0]
        x_in, _, h_in, grad_s, grad_h, grad_u = bargs[:6]
        recompute = _recomputes_h(be)
        got = dict(save_h=fargs[9], save_u=fargs[10], h_written=h.numel() > 0, u_written=u.numel() > 0,
                   backward_gets_x=x_in is not None, backward_gets_h=h_in is not None, grad_s=grad_s is not None,
                   grad_h=grad_h is not None, grad_u=grad_u is not None, need_grad_v=bargs[-1],
                   grad_v_written=gv.numel() > 0, zero_fills=sorted({n for n, _, _ in log.calls if n in ZERO_FILLS}))
        want = dict(save_h=not recompute, save_u=False, h_written=not recompute, u_written=False,
                    backward_gets_x=recompute, backward_gets_h=not recompute, grad_s=True, grad_h=False, grad_u=False,
                    need_grad_v=False, grad_v_written=False, zero_fills=[])
        wrong = {k: got[k] for k in want if got[k] != want[k]}
        record("no_zero_grads", "FAIL" if wrong else "pass", backend=be, recomputes_h=recompute, wrong=wrong or None)


def check_streaming_inference():
    x = torch.randn(8, N_VEC, device=DEV) + 0.3
    s_ref, _, u_ref = reference.lif_sequence(x, return_state=True)
    for be in calls.BACKENDS:
        layer = fastlif.LIFSequence(stateful=True, backend=be)
        with torch.no_grad(), OpLog() as log:
            out = torch.cat([layer(x[:3]), layer(x[3:])])
        flags = [(args[9], args[10], h.numel()) for args, (_, h, _) in log.of(calls.OPS[be][0])]
        calls_ok = flags == [(False, True, 0)] * 2  # (save_h, save_u, h elements) of each chunk's forward
        equal = torch.equal(out, s_ref) and torch.equal(layer.state, u_ref)
        record("streaming_inference", "pass" if calls_ok and equal else "FAIL", backend=be,
               forward_save_h_save_u_h_numel=flags, equals_reference=equal)


def check_t_zero_op():
    N = 4096
    v, gu = torch.randn(N, device=DEV), torch.randn(N, device=DEV)
    for be in calls.BACKENDS:
        x = torch.empty(0, N, device=DEV)
        _, h, u = calls.forward(be, x, v, save_h=True, save_u=True)
        junk = torch.full((N,), 123.0, device=DEV)  # a pattern in the cached block u0 is likely to get
        del junk
        _, _, u0 = calls.forward(be, x, save_h=False, save_u=True)
        _, gv = calls.backward(be, x, None, grad_u=gu, need_grad_v=True)  # x is also the empty [0, N] membrane
        got = dict(u_is_v_init=torch.equal(u, v), u_is_a_copy=u.data_ptr() != v.data_ptr(),
                   u_zeros_without_v_init=torch.equal(u0, torch.zeros_like(u0)), grad_v_is_grad_u=torch.equal(gv, gu),
                   h_shape_ok=tuple(h.shape) == (0, N))
        record("t_zero_op", "pass" if all(got.values()) else "FAIL", backend=be, **got)


def check_stream_order():
    x = torch.randn(8, 1 << 20, device=DEV) + 0.3
    want = reference.lif_sequence(x * 2.0)
    for be in calls.BACKENDS:
        fastlif.lif_sequence(x, backend=be)  # compile/autotune outside the race
        h = calls.forward(be, x, save_h=True, save_u=False)[1]
        dx_want, _ = calls.backward(be, h, torch.full_like(h, 0.25))
        torch.cuda.synchronize()
        side = torch.cuda.Stream()
        side.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(side):
            torch.cuda._sleep(200_000_000)  # ~0.1 s of GPU time before the input exists
            s = fastlif.lif_sequence(x * 2.0, backend=be)
            torch.cuda._sleep(200_000_000)  # and before the backward's grad_s does
            dx, _ = calls.backward(be, h, torch.full_like(h, 0.25))
        torch.cuda.current_stream().wait_stream(side)
        fwd_ok, bwd_ok = torch.equal(s, want), torch.equal(dx, dx_want)
        record("stream_order", "pass" if fwd_ok and bwd_ok else "FAIL", backend=be, forward_ok=fwd_ok,
               backward_ok=bwd_ok)


def check_cuda_graph():
    T, N = 6, (1 << 18) + 8
    for be in calls.BACKENDS:
        try:
            sx = (torch.randn(T, N, device=DEV) + 0.5).requires_grad_()
            sg = torch.randn(T, N, device=DEV)
            warm = torch.cuda.Stream()
            warm.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(warm):
                for _ in range(3):
                    out = fastlif.lif_sequence(sx, backend=be, surrogate="atan")
                    torch.autograd.grad(out, sx, sg)
            torch.cuda.current_stream().wait_stream(warm)
            graph = torch.cuda.CUDAGraph()
            with torch.cuda.graph(graph):
                g_out = fastlif.lif_sequence(sx, backend=be, surrogate="atan")
                (g_dx,) = torch.autograd.grad(g_out, sx, sg)
            with torch.no_grad():
                sx.copy_(torch.randn(T, N, device=DEV) + 0.4)
                sg.copy_(torch.randn(T, N, device=DEV))
            graph.replay()
            torch.cuda.synchronize()
            x2 = sx.detach().clone().requires_grad_()
            e_out = fastlif.lif_sequence(x2, backend=be, surrogate="atan")
            (e_dx,) = torch.autograd.grad(e_out, x2, sg)
            ok = torch.equal(g_out, e_out) and torch.equal(g_dx, e_dx)
            record("cuda_graph", "pass" if ok else "FAIL", backend=be, spikes_equal=torch.equal(g_out, e_out),
                   grads_equal=torch.equal(g_dx, e_dx))
        except Exception as err:  # noqa: BLE001  (a capture error on one backend must not hide the other)
            record("cuda_graph", "FAIL", backend=be, error=f"{type(err).__name__}: {err}"[:600])


def check_large_n():
    for be, T, N in LARGE:
        name = f"large_n_{be}_T{T}_N{N}"
        need = 8 * T * N + 8 * N + (1 << 30)  # x, s, h, dx in bf16; u, dv in fp32; 1 GiB for the rest
        free = torch.cuda.mem_get_info()[0] if CUDA else need
        if need > free:
            record(name, "skip", need_gib=round(need / 2**30, 1), free_gib=round(free / 2**30, 1))
            continue
        t0 = time.time()
        try:
            done = subprocess.run([sys.executable, str(KIT / "large_n.py"), be, str(T), str(N)],
                                  capture_output=True, text=True, timeout=90)
        except subprocess.TimeoutExpired:
            record(name, "FAIL", error="timeout 90 s")
            continue
        line = [ln for ln in done.stdout.splitlines() if ln.startswith("LARGE_RESULT")]
        ok = done.returncode == 0 and bool(line) and line[0].endswith(" ok")
        record(name, "pass" if ok else "FAIL", rc=done.returncode, result=line[0] if line else None,
               seconds=round(time.time() - t0, 1), stderr_tail=None if ok else done.stderr[-800:])


def check_triton_at_scale():
    from lif_testing import OPTIONS, assert_matches_reference
    # Four cases, not the full product: each new (dtype, T, option, N % 16) is 10 autotuned Triton compiles.
    cases = [(torch.float32, 1 << 18, 5, OPTIONS[2]),           # 16-byte vectors, unrolled; hard/sigmoid
             (torch.bfloat16, 1 << 18, 12, OPTIONS[-1]),        # vectors, looped; soft/detach/superspike
             (torch.bfloat16, (1 << 18) + 3, 5, OPTIONS[2]),     # ragged tail
             (torch.float32, (1 << 18) + 3, 12, OPTIONS[-1])]
    for dtype, N, T, option in cases:
        g = torch.Generator(device=DEV).manual_seed(N + T)
        x = (torch.randn((T, N), generator=g, device=DEV, dtype=torch.float64) * 1.2 + 0.4).to(dtype)
        v = torch.randn(N, generator=g, device=DEV, dtype=torch.float64).float()
        gs, gh = (torch.randn((T, N), generator=g, device=DEV, dtype=torch.float64) for _ in range(2))
        gu = torch.randn(N, generator=g, device=DEV, dtype=torch.float64)
        label = f"{dtype} T={T} N={N} {option['reset']} {option['surrogate'].name}"
        try:
            assert_matches_reference("triton", x, v, gs, gh, gu, 0.75, 1.0, -0.2, option)
            record("triton_at_scale", "pass", case=label)
        except AssertionError as err:
            record("triton_at_scale", "FAIL", case=label, error=str(err)[:400])


def check_cpu_gpu_bitwise():
    g = torch.Generator().manual_seed(7)
    x32, gs32 = torch.randn(9, 1 << 18, generator=g) + 0.5, torch.randn(9, 1 << 18, generator=g)
    for dtype in (torch.float32, torch.bfloat16):
        for sur in ("triangle", "sigmoid", "atan"):
            out = {}
            for dev in ("cpu", "cuda"):
                xx = x32.to(dev, dtype).requires_grad_()
                s, h, u = fastlif.lif_sequence(xx, backend=dev, surrogate=sur, return_state=True)
                (gx,) = torch.autograd.grad(s, xx, gs32.to(dev, dtype))
                out[dev] = [t.detach().cpu() for t in (s, h, u, gx)]
            fwd_equal = all(torch.equal(a, b) for a, b in zip(out["cpu"][:3], out["cuda"][:3]))
            bwd_equal = torch.equal(out["cpu"][3], out["cuda"][3])
            diff = (out["cpu"][3].double() - out["cuda"][3].double()).abs()
            # fp32: both twins run lif_math.h with every backward multiply-add spelled fused(), so the gradients must
            # be the same bits too. bf16: the CPU recomputes h in fp32 where the GPU reads the stored bf16 h.
            ok = fwd_equal and (bwd_equal or dtype != torch.float32)
            record("cpu_gpu_bitwise", "pass" if ok else "FAIL", dtype=str(dtype), surrogate=sur,
                   cpu_isa=fastlif.cpu_isa(), forward_bitwise=fwd_equal,
                   backward_bitwise=bwd_equal,
                   backward_max_abs_diff=float(diff.max()), backward_differing=int((diff > 0).sum()))


def _time_ms(fn, rounds=7, calls_per_round=8, warm=3) -> float:
    """Median over `rounds` of the mean GPU time of back-to-back calls (launch overhead hidden behind the previous
    kernel; the working set, >= 100 MB, does not fit the 50-60 MB L2)."""
    for _ in range(warm):
        fn()
    torch.cuda.synchronize()
    times = []
    for _ in range(rounds):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        for _ in range(calls_per_round):
            fn()
        b.record()
        b.synchronize()
        times.append(a.elapsed_time(b) / calls_per_round)
    times.sort()
    return times[len(times) // 2]


def check_bandwidth():
    T, N = 8, 1 << 22
    src = torch.ones(1 << 30, dtype=torch.uint8, device=DEV)
    dst = torch.empty_like(src)
    copy_gbps = 2 * src.numel() / _time_ms(lambda: dst.copy_(src)) / 1e6
    record("bandwidth", "info", what="copy 1 GiB (read + write)", gbps=round(copy_gbps, 1),
           device=torch.cuda.get_device_name())
    del src, dst
    for dtype in (torch.float32, torch.bfloat16):
        w = torch.empty((), dtype=dtype).element_size()
        x = (torch.randn(T, N, device=DEV) + 0.5).to(dtype)
        gs, gh = (torch.randn(T, N, device=DEV).to(dtype) for _ in range(2))

        def row(what, be, fn, tensors):  # tensors: how many [T, N] tensors the call reads or writes
            ms = _time_ms(fn)
            gbps = tensors * w * T * N / ms / 1e6
            record("bandwidth", "info", what=what, backend=be, dtype=str(dtype), T=T, N=N, ms=round(ms, 4),
                   bytes_per_neuron_step=tensors * w, gbps=round(gbps, 1), pct_of_copy=round(100 * gbps / copy_gbps, 1))
        for be in calls.BACKENDS:
            row("forward, h saved (training)", be, lambda: calls.forward(be, x, save_h=True, save_u=False), 3)
            row("forward, no h (inference)", be, lambda: calls.forward(be, x, save_h=False, save_u=False), 2)
            h = calls.forward(be, x, save_h=True, save_u=False)[1]
            for sur, param in ((0, 1.0), (2, 4.0)):  # triangle, sigmoid (an exp per neuron-step)
                scalars = (0.5, 1.0, 0.0, 0, sur, param, False)
                row(f"backward surrogate={sur}, grad_h None (spikes-only loss)", be,
                    lambda: calls.backward(be, h, gs, scalars=scalars), 3)
            row("backward surrogate=2, grad_h given (a loss on h)", be, lambda: calls.backward(be, h, gs, grad_h=gh), 4)
            del h
        del x, gs, gh
        torch.cuda.empty_cache()


# name -> (check, whether the dry run on CPU makes it)
CHECKS = {
    "kernel_paths": (check_kernel_paths, False),
    "no_zero_grads": (check_no_zero_grads, True),
    "streaming_inference": (check_streaming_inference, True),
    "t_zero_op": (check_t_zero_op, True),
    "stream_order": (check_stream_order, False),
    "cuda_graph": (check_cuda_graph, False),
    "large_n": (check_large_n, True),
    "triton_at_scale": (check_triton_at_scale, False),
    "cpu_gpu_bitwise": (check_cpu_gpu_bitwise, False),
    "bandwidth": (check_bandwidth, False),
}


def main() -> int:
    global OUT
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", type=Path, default=None)
    ap.add_argument("--only", nargs="+", choices=list(CHECKS), default=None)
    args = ap.parse_args()
    OUT = args.out
    if OUT:
        OUT.parent.mkdir(parents=True, exist_ok=True)
    if CUDA and not torch.cuda.is_available():
        record("extra_checks", "skip", reason="no CUDA device (GPU_CHECK_DEVICE=cpu makes a dry run)")
        return 0
    if CUDA and not ops.built_with_cuda():  # the Triton checks still say something
        record("extra_checks", "FAIL", reason="fastlif._C was built without CUDA", error=ops.LOAD_ERROR)
    for name in args.only or list(CHECKS):
        check, on_cpu = CHECKS[name]
        if not (CUDA or on_cpu):
            record(name, "skip", reason="needs a GPU")
            continue
        t0 = time.time()
        try:
            check()
        except Exception as err:  # noqa: BLE001 — one broken check must not hide the others
            record(name, "FAIL", error=f"{type(err).__name__}: {err}"[:800], trace=traceback.format_exc()[-1500:])
        print(f"# {name}: {time.time() - t0:.1f} s", flush=True)
        if CUDA:
            torch.cuda.empty_cache()
    fails = sum(r["status"] == "FAIL" for r in RESULTS)
    print(f"# extra checks on {DEV.type}: {len(RESULTS)} rows, {fails} FAIL")
    return 1 if fails else 0


if __name__ == "__main__":
    sys.exit(main())
