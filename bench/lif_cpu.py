"""fastlif's CPU kernel against the reference loop and the same loop under torch.compile, on the CPU.

T in {1, 2, 4, 8, 16, 32}, N = 2^20, forward and forward+backward, fp32 unless --dtype names others; prints a table
and writes bench/results/<machine>/lif_cpu.csv (the columns of the kernel benchmark, both copy floors included).
Then the goals for fp32 forward+backward, each met or NOT met by this run's rows: at T = 8 at least 2.5× the
torch.compile'd loop and 50 % of the copy floor, at T = 1 and T = 32 at least 1.5× the compiled loop (those of the
goals' T values that ran); and, where bf16 and fp32 both ran, whether bf16 is no slower than fp32 at each T; and
whether the kernel with a learnable τ and threshold (PLIF, fastlif-cpu-learnable) stays within 10 % of it.

    python bench/lif_cpu.py [--T 1 8] [--N 65536] [--dtype fp32 bf16] [--threads 2] [--out DIR]
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

PROVIDERS = ["fastlif-cpu", "reference", "reference-compiled", "fastlif-cpu-learnable"]
# The learnable-parameter (PLIF) row against the plain one, fp32 forward+backward at every T: at most this ratio.
LEARNABLE_GOAL = 1.10
# fp32 forward+backward goals: (T, column of the fastlif-cpu row, least value, unit, what it is measured against)
GOALS = [(8, "speedup_vs_compiled", 2.5, "x", "the compiled loop"),
         (8, "pct_of_copy", 50.0, "%", "of the (warm) copy floor"),
         (8, "pct_of_copy_fresh", 50.0, "%", "of the fresh copy floor (three clones of [T, N])"),
         (1, "speedup_vs_compiled", 1.5, "x", "the compiled loop"),
         (32, "speedup_vs_compiled", 1.5, "x", "the compiled loop")]
DTYPES = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}


def table(rows: list[dict]) -> str:
    """One line per (T, dtype, mode): the three times, the kernel's speed-ups and its share of each copy floor."""
    head = (f"{'T':>3} {'dtype':<5} {'mode':<8} {'cpu ms':>9} {'ref ms':>9} {'compiled ms':>11} {'x ref':>7} "
            f"{'x compiled':>10} {'cpu GB/s':>9} {'% copy':>7} {'% fresh':>7} {'plif ms':>9}")
    lines = [head, "-" * len(head)]
    by_key = {(r["T"], r["dtype"], r["mode"], r["provider"]): r for r in rows}
    for T, dtype, mode in dict.fromkeys((r["T"], r["dtype"], r["mode"]) for r in rows):
        cpu, ref, comp, learn = (by_key.get((T, dtype, mode, p)) for p in PROVIDERS)

        def cell(row, key, fmt):
            return format(row[key], fmt) if row is not None and row.get(key) is not None else "-"
        lines.append(f"{T:>3} {dtype:<5} {mode:<8} {cell(cpu, 'median_ms', '9.3f')} {cell(ref, 'median_ms', '9.3f')} "
                     f"{cell(comp, 'median_ms', '11.3f')} {cell(cpu, 'speedup_vs_reference', '7.2f')} "
                     f"{cell(cpu, 'speedup_vs_compiled', '10.2f')} {cell(cpu, 'eff_gbps', '9.2f')} "
                     f"{cell(cpu, 'pct_of_copy', '7.1f')} {cell(cpu, 'pct_of_copy_fresh', '7.1f')} "
                     f"{cell(learn, 'median_ms', '9.3f')}")
    return "\n".join(lines)


def _full(rows: list[dict], dtype: str) -> dict[int, dict]:
    """The fastlif-cpu forward+backward rows of ``dtype``, by T."""
    return {r["T"]: r for r in rows if r["provider"] == "fastlif-cpu" and r["mode"] == "full" and r["dtype"] == dtype}


def goal_lines(rows: list[dict]) -> list[str]:
    """Each goal whose T ran in fp32: the measured value, met or NOT met."""
    by_T = _full(rows, "fp32")
    lines = []
    for T, column, least, unit, against in GOALS:
        if T not in by_T:
            continue
        value = by_T[T][column]
        got = "not measured" if value is None else f"{value:.2f}{unit}, {'met' if value >= least else 'NOT met'}"
        lines.append(f"goal: fp32 forward+backward at T={T} >= {least:g}{unit} {against}: {got}")
    return lines


def learnable_lines(rows: list[dict]) -> list[str]:
    """Per T: the learnable-parameter (PLIF) kernel's fp32 forward+backward time over the plain kernel's."""
    plain = _full(rows, "fp32")
    learn = {r["T"]: r for r in rows if r["provider"] == "fastlif-cpu-learnable" and r["mode"] == "full"
             and r["dtype"] == "fp32"}
    lines = []
    for T in [T for T in learn if T in plain]:
        ratio = learn[T]["median_ms"] / plain[T]["median_ms"]
        lines.append(f"goal: fp32 forward+backward at T={T} with learnable tau and threshold (PLIF) within "
                     f"{LEARNABLE_GOAL - 1:.0%} of plain LIF: {learn[T]['median_ms']:.3f} vs "
                     f"{plain[T]['median_ms']:.3f} ms ({ratio:.3f}x), {'met' if ratio <= LEARNABLE_GOAL else 'NOT met'}")
    return lines


def bf16_lines(rows: list[dict]) -> list[str]:
    """Per T where both ran: whether bf16 forward+backward is no slower than fp32 (medians of adjacent rounds)."""
    bf16, fp32 = _full(rows, "bf16"), _full(rows, "fp32")
    lines = []
    for T in [T for T in bf16 if T in fp32]:
        b, f = bf16[T]["median_ms"], fp32[T]["median_ms"]
        lines.append(f"bf16 forward+backward at T={T}: {b:.3f} ms vs fp32 {f:.3f} ms (bf16 {f / b:.2f}x as fast), "
                     + ("no slower" if b <= f else "SLOWER"))
    return lines


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python bench/lif_cpu.py", description=__doc__.split("\n\n")[0])
    ap.add_argument("--T", nargs="+", type=int, default=[1, 2, 4, 8, 16, 32])
    ap.add_argument("--N", type=int, default=2**20)
    ap.add_argument("--dtype", nargs="+", default=["fp32"], choices=sorted(DTYPES),
                    help="one or more dtypes (fp32 for the goals; fp32 and bf16 to compare them)")
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
    dtypes = list(dict.fromkeys(args.dtype))
    print(f"{describe(device)}; torch {torch.__version__}; N = {args.N:,}, {', '.join(dtypes)}, "
          f"surrogate {args.surrogate}")
    timer = Timer(device, budget_s=args.budget)
    rows = []
    for T in args.T:
        for dtype in dtypes:  # the dtypes of one T back to back, so a change of load hits both alike
            case = providers.Case(T, args.N, DTYPES[dtype], device, args.surrogate)
            rows += kernels.bench_case(case, chosen, ("forward", "full"), timer)
            records.write_rows(out / "lif_cpu.csv", rows, kernels.COLUMNS)
    print(table(rows))
    verdicts = goal_lines(rows) + learnable_lines(rows) + bf16_lines(rows)
    for line in verdicts:
        print(line)
    records.write_notes(out / "lif_cpu.md", f"fastlif CPU kernel on {machine_name(device)}", [
        f"machine: {describe(device)}", f"torch {torch.__version__}",
        f"command: `python bench/lif_cpu.py {' '.join(sys.argv[1:] if argv is None else argv)}`",
        f"N = {args.N}, {', '.join(dtypes)}, surrogate {args.surrogate}, {args.budget} s of timed calls per "
        "measurement; pct_of_copy and pct_of_copy_fresh: shares of a copy of the same bytes into a warm destination "
        "and into fresh ones, as the kernel's outputs are",
    ] + verdicts + ([f"note: {args.note}"] if args.note else []))
    print(f"wrote {out / 'lif_cpu.csv'} and lif_cpu.md")
    return 0


if __name__ == "__main__":
    sys.exit(main())
