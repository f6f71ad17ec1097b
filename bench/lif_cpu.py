"""fastlif's CPU kernel against the reference loop and the same loop under torch.compile, on the CPU.

T in {1, 2, 4, 8, 16, 32}, N = 2^20, forward and forward+backward; prints a table and writes
bench/results/<machine>/lif_cpu.csv (the columns of the kernel benchmark, copy rows included). The core issue's goal:
forward+backward at T = 8 at least 5× faster than the reference loop.

    python bench/lif_cpu.py [--T 1 8] [--N 65536] [--dtype bf16] [--threads 2] [--out DIR]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from bench import kernels, providers, records  # noqa: E402
from bench.machine import describe, machine_name  # noqa: E402
from bench.timing import Timer  # noqa: E402

PROVIDERS = ["fastlif-cpu", "reference", "reference-compiled"]
GOAL_T, GOAL_SPEEDUP = 8, 5.0
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def table(rows: list[dict]) -> str:
    """One line per (T, mode): the three times, the kernel's speed-ups and its share of the copy bandwidth."""
    head = (f"{'T':>3} {'mode':<8} {'cpu ms':>9} {'ref ms':>9} {'compiled ms':>11} {'x ref':>7} {'x compiled':>10} "
            f"{'cpu GB/s':>9} {'% copy':>7}")
    lines = [head, "-" * len(head)]
    by_key = {(r["T"], r["mode"], r["provider"]): r for r in rows}
    for T, mode in dict.fromkeys((r["T"], r["mode"]) for r in rows):
        cpu, ref, comp = (by_key.get((T, mode, p)) for p in PROVIDERS)

        def cell(row, key, fmt):
            return format(row[key], fmt) if row is not None and row.get(key) is not None else "-"
        lines.append(f"{T:>3} {mode:<8} {cell(cpu, 'median_ms', '9.3f')} {cell(ref, 'median_ms', '9.3f')} "
                     f"{cell(comp, 'median_ms', '11.3f')} {cell(cpu, 'speedup_vs_reference', '7.2f')} "
                     f"{cell(cpu, 'speedup_vs_compiled', '10.2f')} {cell(cpu, 'eff_gbps', '9.2f')} "
                     f"{cell(cpu, 'pct_of_copy', '7.1f')}")
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/lif_cpu.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--T", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--N", type=int, default=2**20)
    ap.add_argument("--dtype", default="fp32", choices=sorted(DTYPES))
    ap.add_argument("--surrogate", default="sigmoid", choices=providers.SURROGATES)
    ap.add_argument("--budget", type=float, default=0.5, help="seconds of timed calls per measurement")
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    ap.add_argument("--out", type=Path, help="results folder (default: bench/results/<machine>)")
    ap.add_argument("--note", default="", help="a line for the results header (e.g. what else loaded the machine)")
    args = ap.parse_args(argv)
    if min(args.T) < 1 or args.N < 1:
        ap.error("--T and --N values must be >= 1")
    if args.threads is not None:
        if args.threads < 1:
            ap.error("--threads must be >= 1")
        torch.set_num_threads(args.threads)
    device = torch.device("cpu")
    chosen = providers.select(PROVIDERS, device)
    if not any(p.name == "fastlif-cpu" for p in chosen):
        print("the fastlif CPU kernel is not available: timing the reference twins only")
    out = args.out or records.RESULTS / machine_name(device)
    print(f"{describe(device)}; torch {torch.__version__}; N = {args.N:,}, {args.dtype}, surrogate {args.surrogate}")
    timer = Timer(device, budget_s=args.budget)
    rows = []
    for T in args.T:
        case = providers.Case(T, args.N, DTYPES[args.dtype], device, args.surrogate)
        rows += kernels.bench_case(case, chosen, ("forward", "full"), timer)
        records.write_rows(out / "lif_cpu.csv", rows, kernels.COLUMNS)
    print(table(rows))
    goal = next((r for r in rows if r["provider"] == "fastlif-cpu" and r["mode"] == "full" and r["T"] == GOAL_T), None)
    if goal is not None and goal["speedup_vs_reference"] is not None:
        verdict = "met" if goal["speedup_vs_reference"] >= GOAL_SPEEDUP else "NOT met"
        print(f"goal (forward+backward at T={GOAL_T} >= {GOAL_SPEEDUP:g}x the reference loop): "
              f"{goal['speedup_vs_reference']:.2f}x, {verdict}")
    records.write_notes(out / "lif_cpu.md", f"fastlif CPU kernel on {machine_name(device)}", [
        f"machine: {describe(device)}", f"torch {torch.__version__}",
        f"command: `python bench/lif_cpu.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"N = {args.N}, {args.dtype}, surrogate {args.surrogate}, {args.budget} s of timed calls per measurement",
    ] + ([f"note: {args.note}"] if args.note else []))
    print(f"wrote {out / 'lif_cpu.csv'} and lif_cpu.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
