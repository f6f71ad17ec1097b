"""``fastlif demo``: fixed-T TET vs SLT-TET on the embedded digits, same model, seed and T; both latency tables.

Both runs start from identical weights and see the same mini-batches in the same order; they differ only in the
number of steps each mini-batch is trained at (always T, or t ~ Uniform{1..T}). Writes, under ``--out``:
one run folder per method (metrics.csv, checkpoint.pt, ...), ``latency.csv`` with both curves, ``latency.png``.
"""
from __future__ import annotations

import argparse
import os

from ..losses import LOSSES
from ..train.config import TrainConfig
from ..train.plots import format_table, plot_latency, write_latency_csv
from .usage import UsageError, set_threads

# Embedded data the demo runs on without files -> dataset options for a run at up to T steps. Event digits are
# rendered with T frames and resized to 16x16 so the small CNN stays fast on a CPU.
DEMO_DATA = {
    "digits": lambda T: {},
    "event-digits": lambda T: {"T": T, "size": 16},
}
DEFAULTS = dict(T=8, epochs=5, lr=0.01, batch_size=64, seed=0, out="runs/demo")


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-T", "--T", dest="T", type=int, default=DEFAULTS["T"], help="training T of both runs")
    p.add_argument("--eval-T", type=int, help="evaluate latencies 1..eval-T (default T)")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"])
    p.add_argument("--model", default="digits_cnn", help="model name from fastlif.models")
    p.add_argument("--data", choices=sorted(DEMO_DATA), default="digits",
                   help="embedded data: static 8x8 digits (default) or the same digits as DVS-like event frames, "
                        "where early steps see only part of the events and latency matters more")
    p.add_argument("--loss", choices=LOSSES, default="tet", help="base loss of both runs (sdt: SDT vs SLT-SDT)")
    p.add_argument("--out", default=DEFAULTS["out"], help="folder for both runs, the CSV and the plot")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the digits net is too small to gain from more, and extra "
                        "threads slow it down many times over on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def compare(base: TrainConfig, out: str) -> dict:
    """Train ``base`` with fixed latency and with SLT; returns {label: TrainResult} (files under ``out``)."""
    from ..train.trainer import Trainer

    results = {}
    for latency in ("fixed", "slt"):
        folder = f"{latency}-{base.loss}"
        # the demo's folders are its own output, remade on every demo run (a fresh comparison each time)
        cfg = base.replace(latency=latency, out_dir=os.path.join(out, folder), overwrite=True)
        try:
            trainer = Trainer(cfg)
        except (ValueError, TypeError, FileNotFoundError) as e:
            raise UsageError(str(e)) from e
        try:
            result = trainer.fit()
        finally:
            trainer.close()
        results[result.label] = result
    return results


def summary(results: dict) -> str:
    """Per run: accuracy at t = 1 and at the largest t, and the mean training time per epoch."""
    lines = []
    for label, r in results.items():
        secs = sum(row["train_time_s"] for row in r.history) / max(len(r.history), 1)
        mean_t = sum(row["mean_t"] for row in r.history) / max(len(r.history), 1)
        lines.append(f"{label:>12}: t=1 {100 * r.accuracy[0]:6.2f}%   t={len(r.accuracy)} "
                     f"{100 * r.accuracy[-1]:6.2f}%   mean trained latency {mean_t:.2f}   {secs:.2f} s/epoch")
    return "\n".join(lines)


def run(args) -> int:
    set_threads(args.threads)
    try:
        data_kwargs = DEMO_DATA[args.data](max(args.T, args.eval_T or 0))
        base = TrainConfig(model=args.model, data=args.data, data_kwargs=data_kwargs, loss=args.loss, T=args.T,
                           eval_T=args.eval_T, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                           seed=args.seed,
                           progress=not args.no_progress, tensorboard=False).validate()
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from e
    print(f"fastlif demo: {args.model} on {args.data}, {args.loss.upper()} loss, T={args.T}, {args.epochs} epochs, "
          f"same seed for both runs\n")
    results = compare(base, args.out)
    curves = {label: r.accuracy for label, r in results.items()}
    csv_path = write_latency_csv(curves, os.path.join(args.out, "latency.csv"))
    png_path = plot_latency(curves, os.path.join(args.out, "latency.png"),
                            title=f"{args.data}, {args.model}: fixed T vs SLT, {args.loss.upper()} loss, T={args.T}")
    print("\nTest accuracy at every inference latency t (one forward pass per batch):")
    print(format_table(curves))
    n_test = next(iter(results.values())).history[-1]["test_samples"]
    print(f"\n{n_test} test images: one image is {100 / n_test:.2f} percentage points")
    print(summary(results))
    print(f"\nWrote {csv_path}, {png_path} and one run folder per method under {args.out}")
    return 0
