"""Run the benchmarks that fit this machine and write bench/results/<machine>/{kernels,models}.csv, the plots and
a markdown header beside each CSV naming the machine, versions and dtypes.

    python -m bench.run            # everything that fits (CPU: a few minutes per part; GPU: the issue's full grid)
    python -m bench.run --quick    # a one-minute smoke run
    python -m bench.run --parts kernels --T 1 8 32 --N 1048576 --providers fastlif-cpu reference
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

if __package__ in (None, ""):  # `python bench/run.py` as well as `python -m bench.run`
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench import kernels, memory, models, plot, providers, records  # noqa: E402
from bench.machine import describe, machine_name, versions  # noqa: E402
from bench.timing import Timer  # noqa: E402
from fastlif import dispatch  # noqa: E402

DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def defaults(device: torch.device, quick: bool) -> dict:
    """The grid for this device: the issue's on GPU; on CPU what a shared 2-core box does in minutes."""
    if quick:
        return dict(T=[1, 4], N=[2**16], dtypes=["fp32"], modes=["forward", "full"], budget=0.1)
    if device.type == "cuda":
        return dict(T=[1, 2, 4, 8, 16, 32, 64], N=[2**16, 2**20, 2**22], dtypes=["fp32", "bf16", "fp16"],
                    modes=list(kernels.MODES), budget=0.5)
    return dict(T=[1, 2, 4, 8, 16, 32, 64], N=[2**20], dtypes=["fp32", "bf16"], modes=["forward", "full"],
                budget=0.3)


def parse_args(argv=None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="a one-minute smoke run (tiny grid and models)")
    ap.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu", choices=["cpu", "cuda"])
    ap.add_argument("--parts", nargs="+", default=["kernels", "models"], choices=["kernels", "models", "memory"])
    ap.add_argument("--T", nargs="+", type=int, help="time steps (default: by device)")
    ap.add_argument("--N", nargs="+", type=int, help="neurons per step (default: by device)")
    ap.add_argument("--dtypes", nargs="+", choices=sorted(DTYPES), help="input dtypes (default: by device)")
    ap.add_argument("--modes", nargs="+", choices=kernels.MODES, help="kernel modes (default: by device)")
    ap.add_argument("--providers", nargs="+", help="restrict the kernel benchmark to these providers")
    ap.add_argument("--surrogate", default="sigmoid", choices=providers.SURROGATES)
    ap.add_argument("--budget", type=float, help="seconds of timed calls per measurement (at least --min-reps calls)")
    ap.add_argument("--min-reps", type=int, default=5, help="timed calls per measurement at least (default 5)")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--models", nargs="+", help="restrict the model benchmark to these models (vggsnn, resnet19)")
    ap.add_argument("--slt-batches", type=int, default=None, help="batches per epoch for the SLT ratio")
    ap.add_argument("--out", type=Path, help="results folder (default: bench/results/<machine>)")
    ap.add_argument("--note", default="", help="a line for the results header (e.g. what else loaded the machine)")
    ap.add_argument("--no-plot", action="store_true")
    args = ap.parse_args(argv)
    if args.device == "cuda" and not torch.cuda.is_available():
        ap.error("--device cuda: no CUDA device is visible")
    for name in ("T", "N"):
        if getattr(args, name) and min(getattr(args, name)) < 1:
            ap.error(f"--{name} values must be >= 1")
    if args.budget is not None and args.budget <= 0:
        ap.error("--budget must be > 0")
    if args.min_reps < 1:
        ap.error("--min-reps must be >= 1")
    if args.threads is not None and args.threads < 1:
        ap.error("--threads must be >= 1")
    return args


def run_kernels(args, device, grid, timer, out: Path) -> list[dict]:
    chosen = providers.select(args.providers, device)
    rows = []
    for dtype in grid["dtypes"]:
        for N in grid["N"]:
            for T in grid["T"]:
                case = providers.Case(T, N, DTYPES[dtype], device, args.surrogate)
                t0 = time.perf_counter()
                case_rows = kernels.bench_case(case, chosen, tuple(grid["modes"]), timer)
                rows += case_rows
                print(f"T={T:<3} N={N:<8} {dtype}: {time.perf_counter() - t0:5.1f} s  " + "  ".join(
                    f"{r['provider']}/{r['mode']} {r['median_ms']:.3g} ms" for r in case_rows))
                records.write_rows(out / "kernels.csv", rows, kernels.COLUMNS)  # keep partial results
    print(kernels.summary(rows))
    return rows


def run_models(args, device, timer, out: Path) -> list[dict]:
    try:
        import fastlif.models as zoo
    except ImportError as err:
        print(f"skip the model benchmark: fastlif.models is not importable ({err})")
        return []
    if args.quick:
        cases = models.quick_cases()
    else:
        cases = models.tiny_cases() if device.type == "cpu" else models.paper_cases()
    if args.models:
        unknown = set(args.models) - {c.name for c in cases}
        if unknown:
            known = sorted({c.name for c in cases})
            raise SystemExit(f"--models: unknown {sorted(unknown)}; expected names from {known}")
        cases = [c for c in cases if c.name in args.models]
    neurons = [n for n in models.NEURONS if n != "spikingjelly" or providers.SpikingJelly().unavailable(device) is None]
    if "spikingjelly" not in neurons:
        print(f"skip SpikingJelly neurons in models: {providers.SpikingJelly().unavailable(device)}")
    batches = args.slt_batches or (2 if args.quick else 16)
    rows = []
    for case in cases:
        model = zoo.get(case.name, **case.kwargs()).to(device)
        for neuron in neurons:
            try:
                row = models.bench_model(case, model, neuron, timer, device)
            except (RuntimeError, ValueError, torch.OutOfMemoryError) as err:
                print(f"skip {case.name} T={case.T} with {neuron} neurons: {type(err).__name__}: {err}")
                continue
            rows.append(row)
            print(f"{case.name} T={case.T} batch={case.batch} {case.input_size}px {neuron:<12} "
                  f"{row['samples_per_s']:8.2f} samples/s  saved {row['saved_mib']:.1f} MiB  "
                  f"peak {row['peak_mib'] or float('nan'):.0f} MiB")
        ratio = models.slt_epoch_ratio(case, model, device, batches)
        rows.append(dict(kernels.run_meta(device), model=case.name, neuron="fastlif",
                         backend=dispatch.pick("auto", device), T=case.T, batch=case.batch,
                         input_size=case.input_size, dtype="fp32", slt_epoch_ratio=ratio))
        print(f"{case.name} T={case.T}: SLT epoch / fixed-T epoch = {ratio:.3f} over {batches} batches")
        records.write_rows(out / "models.csv", rows, models.COLUMNS)
    return rows


def run_memory(args, device, timer, out: Path) -> list[dict]:
    cases = memory.cases()
    if args.models:
        cases = [c for c in cases if c.name in args.models]
    import fastlif.models as zoo
    sj_missing = providers.SpikingJelly().unavailable(device)
    variants = [v for v in memory.VARIANTS if v != "spikingjelly" or sj_missing is None]
    rows = []
    for case in cases:
        kw = case.kwargs() if case.name != "window_snn_tiny" else dict(num_classes=case.num_classes,
                                                                       in_channels=case.in_channels)
        model = zoo.get(case.name, **kw).to(device)
        # its window cell calls the LIF function with v_init: no LIFNode stands in for that
        case_variants = [v for v in variants if not (v == "spikingjelly" and case.name.startswith("window_snn"))]
        for row in memory.bench_case(case, model, case_variants, timer, device):
            rows.append(row)
            print(f"{case.name} T={case.T} batch={case.batch} {row['variant']:<13} kept {row['saved_mib']:7.1f} MiB "
                  f"(+params {row['saved_with_params_mib']:7.1f})  peak {row['peak_mib'] or float('nan'):6.0f} MiB"
                  f"  step {row['median_ms']:8.1f} ms (p20 {row['p20_ms']:8.1f})")
        records.write_rows(out / "memory.csv", rows, memory.COLUMNS)
    return rows


def main(argv=None) -> int:
    args = parse_args(argv)
    device = torch.device(args.device)
    if args.threads:
        torch.set_num_threads(args.threads)
    grid = defaults(device, args.quick)
    for key in ("T", "N", "dtypes", "modes", "budget"):
        if getattr(args, key):
            grid[key] = getattr(args, key)
    out = args.out or records.RESULTS / machine_name(device)
    timer = Timer(device, budget_s=grid["budget"], min_reps=args.min_reps, max_reps=max(100, args.min_reps))
    v = versions()
    print(f"{machine_name(device)}: {describe(device)}; torch {v['torch']}, triton {v['triton'] or '-'}, "
          f"spikingjelly {v['spikingjelly'] or '-'}, snntorch {v['snntorch'] or '-'}; results in {out}")
    t0 = time.perf_counter()
    if "kernels" in args.parts:
        run_kernels(args, device, grid, timer, out)
    if "models" in args.parts:
        run_models(args, device, timer, out)
    if "memory" in args.parts:
        run_memory(args, device, timer, out)
    elapsed = time.perf_counter() - t0
    command = " ".join(sys.argv[1:] if argv is None else argv)
    head = [f"machine: {describe(device)}",
            "versions: " + ", ".join(f"{k} {val or 'not installed'}" for k, val in v.items()),
            f"command: `python -m bench.run {command}` ({elapsed:.0f} s for all parts)"]
    if args.note:
        head.append(f"note: {args.note}")
    if "kernels" in args.parts:
        records.write_notes(out / "kernels.md", f"LIF kernels on {machine_name(device)}", head + [
            f"grid: T {grid['T']}, N {grid['N']}, dtypes {grid['dtypes']}, modes {grid['modes']}, surrogate "
            f"{args.surrogate}; {grid['budget']} s of timed calls per measurement (at least {args.min_reps})",
            "bytes per neuron-step (SPEC §9): forward 3w, backward 3w, full 6w; pct_of_copy and pct_of_copy_fresh "
            "compare with a copy of the same bytes timed in the same run, into a warm destination and into fresh "
            "ones (as the kernels' outputs are); saved_mib: memory autograd keeps for backward (input excluded)"])
    if "models" in args.parts:
        records.write_notes(out / "models.md", f"Model training steps on {machine_name(device)}", head + [
            "fp32 training steps (forward, TET loss, backward, SGD); saved_mib: what autograd keeps for backward "
            "in one forward (input and parameters excluded); peak_mib above the memory held before the first step "
            "(CUDA allocator, or CPU resident set: approximate, and low for every neuron measured after the first, "
            "as freed heap pages get reused); slt_epoch_ratio: an epoch at t ~ U{1..T} over one at fixed T, same "
            "batches"])
    if "memory" in args.parts:
        records.write_notes(out / "memory.md", f"Training memory on {machine_name(device)}", head + [
            "fp32 training steps (forward, TET loss, backward, SGD) at batch 4; variants: fastlif-compact "
            "(`fastlif.memory.compact(model)`: spikes as bits, batch norms recomputed), fastlif-off (the default, "
            "`fastlif.memory.compact(model, False)`), spikingjelly (SpikingJelly 2.0 "
            "multi-step LIFNode in place of every LIFSequence); saved_mib: bytes autograd keeps for backward in "
            "one forward (input and parameters excluded), saved_with_params_mib: the same plus the parameters (the "
            "issue's convention); peak_mib: CUDA allocator, or CPU resident set (approximate, low for every variant "
            "after the first); a case's variants are timed interleaved, round after round, so they share the load of a "
            "shared machine; SpikingJelly memopt levels 2-4 need CUDA and are not run on a CPU"])
    if not args.no_plot:
        for path in plot.plot_folder(out):
            print(f"wrote {path}")
    print(f"done in {elapsed:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
