"""The kernel benchmark: every provider on every case and mode, beside a device copy of the same bytes.

Modes (as in Liger-Kernel's harness):
- ``forward``: the training forward (input requires grad, so whatever backward needs is kept);
- ``backward``: one backward through a graph built once, untimed (``retain_graph``; nothing is overwritten, so every
  repetition computes the same thing);
- ``full``: forward + backward.

Bytes follow SPEC §9's traffic model per neuron-step with element size w: forward 3w (read x, write s and h),
backward 3w (read dL/ds and h, write dx), full 6w. Effective GB/s = model bytes / time, whatever the provider
really moves, so the numbers compare how close each gets to the ideal fused kernel. Two floors read and write the
same number of bytes (see ``copy_calls``): "copy" into a destination allocated once, the hardware's limit, and
"copy-fresh" into destinations allocated on every call, as a kernel's outputs are, which on a CPU also pays the
first-touch page faults of the fresh memory: the limit for any kernel that returns new tensors.
"""
from __future__ import annotations

from typing import Callable

import torch

from .machine import describe, machine_name, versions
from .providers import Case, Provider
from .timing import Timer

MODES = ("forward", "backward", "full")
WORDS_PER_STEP = {"forward": 3, "backward": 3, "full": 6}
PEERS = ("reference", "compiled", "spikingjelly", "snntorch")
FLOORS = ("copy", "copy-fresh")  # the provider names of the two bandwidth floors (copy_calls)

COLUMNS = (
    ["machine", "device_name", "torch", "triton", "fastlif", "spikingjelly", "snntorch", "threads",
     "provider", "mode", "dtype", "surrogate", "T", "N", "reps", "median_ms", "p20_ms", "p80_ms",
     "neuron_steps_per_s", "model_bytes", "eff_gbps", "copy_gbps", "pct_of_copy", "copy_fresh_gbps",
     "pct_of_copy_fresh", "saved_mib", "peak_mib"]
    + [f"speedup_vs_{p}" for p in PEERS]
)

DTYPE_NAMES = {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16", torch.float64: "fp64"}


def model_bytes(case: Case, mode: str) -> int:
    """SPEC §9 memory traffic of one call in ``mode``."""
    if mode not in WORDS_PER_STEP:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    itemsize = torch.empty((), dtype=case.dtype).element_size()
    return WORDS_PER_STEP[mode] * itemsize * case.T * case.N


def make_input(case: Case) -> torch.Tensor:
    """Inputs around the threshold, so a fair share of neurons fire (spike rate matters to no branch-free kernel,
    but it does to autograd graphs that skip zero work)."""
    gen = torch.Generator().manual_seed(case.T * 1_000_003 + case.N)
    x = torch.randn(case.T, case.N, generator=gen) * 0.8 + 0.5
    return x.to(device=case.device, dtype=case.dtype).requires_grad_(True)


def saved_bytes(call: Callable[[], object], exclude=()) -> int:
    """Bytes of distinct storages autograd keeps for backward during ``call()``, those of ``exclude`` (the input,
    the parameters: memory held anyway) left out."""
    seen = {t.untyped_storage().data_ptr() for t in exclude}
    total = 0

    def pack(t):
        nonlocal total
        storage = t.untyped_storage()
        if storage.data_ptr() not in seen:
            seen.add(storage.data_ptr())
            total += storage.nbytes()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        call()
    return total


def cuda_peak_mib(call: Callable[[], object], device: torch.device) -> float | None:
    """CUDA: peak allocated memory during one call, above what was allocated before it. None elsewhere."""
    if device.type != "cuda":
        return None
    torch.cuda.synchronize(device)
    base = torch.cuda.memory_allocated(device)
    torch.cuda.reset_peak_memory_stats(device)
    call()
    torch.cuda.synchronize(device)
    return (torch.cuda.max_memory_allocated(device) - base) / 2**20


def mode_calls(fn: Callable, x: torch.Tensor, mode: str):
    """(setup, call) for ``mode``; setup runs untimed before every call."""
    def clear_grad():
        x.grad = None

    if mode == "forward":
        return None, lambda: fn(x)
    if mode == "full":
        dy = torch.rand_like(x)
        return clear_grad, lambda: fn(x).backward(dy)
    y = fn(x)
    dy = torch.rand_like(y)
    return clear_grad, lambda: y.backward(dy, retain_graph=True)


def copy_calls(case: Case, mode: str) -> dict[str, Callable[[], object]]:
    """The two bandwidth floors of ``mode``, by provider name: copies reading and writing model_bytes / 2 bytes.

    "copy" writes into one destination allocated here, so its pages are mapped before timing starts. "copy-fresh"
    clones the same source into destinations allocated on every call, as the kernels' outputs are: [T, N] arrays
    of case.dtype, as many as the bytes fill (full: 3, the read+write pairs of s, h and dx), then one smaller one
    for the rest (forward and backward: half an array). glibc maps CPU buffers above its mmap threshold (32 MiB at
    most) on allocation and unmaps them on free, so at such sizes every call pays first-touch page faults, as a
    kernel's outputs do; below it, and on CUDA (the caching allocator), fresh memory is warm and the floors agree.
    """
    src = torch.ones(model_bytes(case, mode) // 2, dtype=torch.uint8, device=case.device)
    dst = torch.empty_like(src)
    itemsize = torch.empty((), dtype=case.dtype).element_size()
    words = src[:src.numel() // itemsize * itemsize].view(case.dtype)
    parts = [p.view(case.T, case.N) if p.numel() == case.T * case.N else p for p in words.split(case.T * case.N)]
    return {"copy": lambda: dst.copy_(src), "copy-fresh": lambda: [p.clone() for p in parts]}


def _row(case: Case, provider: str, mode: str, timing, meta: dict) -> dict:
    nbytes = model_bytes(case, mode)
    return dict(meta, provider=provider, mode=mode, dtype=DTYPE_NAMES[case.dtype], surrogate=case.surrogate,
                T=case.T, N=case.N, reps=timing.reps, median_ms=timing.median * 1e3, p20_ms=timing.p20 * 1e3,
                p80_ms=timing.p80 * 1e3, neuron_steps_per_s=case.T * case.N / timing.median,
                model_bytes=nbytes, eff_gbps=nbytes / timing.median / 1e9)


def run_meta(device: torch.device) -> dict:
    """The columns that say where and with what a row was measured."""
    return dict(machine=machine_name(device), device_name=describe(device), threads=torch.get_num_threads(),
                **versions())


def _within(context_factory: Callable, call: Callable[[], object]) -> Callable[[], object]:
    def run():
        with context_factory():
            return call()
    return run


def bench_case(case: Case, providers: list[Provider], modes: tuple[str, ...], timer: Timer,
               log: Callable[[str], None] = print) -> list[dict]:
    """All rows of one case: one per (provider, mode) plus the "copy" and "copy-fresh" floors per mode, speed-ups
    filled in.

    Every provider is built and run once first (compiling, where it compiles); a provider that fails on this case
    (say, out of memory) is logged and left out, never fatal. Then all (provider, mode) pairs and the copies are
    timed interleaved, so a burst of load from elsewhere hits them alike.
    """
    meta = run_meta(case.device)
    entries = []  # (provider name, mode, setup, call, memory columns)
    for p in providers:
        try:
            fn = p.build(case)
            x = make_input(case)
            with p.context():  # the backward mode runs its forward now
                saved = saved_bytes(lambda: fn(x), [x]) / 2**20 if p.hooks_see_saved else None
                calls = {mode: mode_calls(fn, x, mode) for mode in modes}
            for mode, (setup, call) in calls.items():
                call = _within(p.context, call)
                if setup is not None:
                    setup()
                call()  # the first call compiles, allocates, picks kernels: a failure here skips the provider
                entries.append((p.name, mode, setup, call,
                                dict(saved_mib=saved, peak_mib=cuda_peak_mib(call, case.device))))
        except (RuntimeError, ValueError, TypeError, torch.OutOfMemoryError) as err:
            entries = [e for e in entries if e[0] != p.name]
            log(f"skip {p.name} at T={case.T} N={case.N} {DTYPE_NAMES[case.dtype]}: {type(err).__name__}: {err}")
            if case.device.type == "cuda":
                torch.cuda.empty_cache()
    for mode in modes:
        entries += [(name, mode, None, call, {}) for name, call in copy_calls(case, mode).items()]
    # The timer's untimed warm-up round comes on top of the first calls above: a compiled graph's first backward
    # compiles too, and its next call can still be slow.
    timings = timer.measure_many([(call, setup) for _, _, setup, call, _ in entries])
    rows = [_row(case, name, mode, timing, meta) | extra
            for (name, mode, _, _, extra), timing in zip(entries, timings)]
    _fill_ratios(rows)
    return rows


def _fill_ratios(rows: list[dict]) -> None:
    """% of each copy floor's bandwidth and speed-up over each peer (its fastest path), within each mode."""
    for mode in {r["mode"] for r in rows}:
        group = [r for r in rows if r["mode"] == mode]
        copy = next(r for r in group if r["provider"] == "copy")
        fresh = next(r for r in group if r["provider"] == "copy-fresh")
        peer_ms = {}
        for r in group:
            peer = peer_of(r["provider"])
            if peer is not None:
                peer_ms[peer] = min(peer_ms.get(peer, float("inf")), r["median_ms"])
        for r in group:
            r["copy_gbps"] = copy["eff_gbps"]
            r["pct_of_copy"] = 100.0 * copy["median_ms"] / r["median_ms"]
            r["copy_fresh_gbps"] = fresh["eff_gbps"]
            r["pct_of_copy_fresh"] = 100.0 * fresh["median_ms"] / r["median_ms"]
            for peer in PEERS:
                r[f"speedup_vs_{peer}"] = peer_ms[peer] / r["median_ms"] if peer in peer_ms else None


def peer_of(provider: str) -> str | None:
    """The speed-up column a provider's times feed (every SpikingJelly path feeds "spikingjelly")."""
    if provider == "reference":
        return "reference"
    if provider == "reference-compiled":
        return "compiled"
    if provider.startswith("spikingjelly"):
        return "spikingjelly"
    if provider == "snntorch":
        return "snntorch"
    return None


def summary(rows: list[dict]) -> str:
    """A printable table of fastlif's own rows: time, bandwidth, its share of each copy floor and the speed-up over
    each peer."""
    head = (f"{'provider':<15} {'dtype':<5} {'N':>8} {'T':>3} {'mode':<8} {'ms':>9} {'GB/s':>7} {'% copy':>7} "
            f"{'% fresh':>7} "
            + " ".join(f"{'x ' + p:>14}" for p in PEERS))
    lines = [head, "-" * len(head)]
    for r in rows:
        if not r["provider"].startswith("fastlif"):
            continue
        ratios = " ".join(f"{r[f'speedup_vs_{p}']:14.2f}" if r.get(f"speedup_vs_{p}") is not None else f"{'-':>14}"
                          for p in PEERS)
        lines.append(f"{r['provider']:<15} {r['dtype']:<5} {r['N']:>8} {r['T']:>3} {r['mode']:<8} "
                     f"{r['median_ms']:9.3f} {r['eff_gbps']:7.2f} {r['pct_of_copy']:7.1f} "
                     f"{r['pct_of_copy_fresh']:7.1f} {ratios}")
    return "\n".join(lines)
