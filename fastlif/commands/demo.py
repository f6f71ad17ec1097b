"""``fastlif demo``: fixed-T TET vs SLT-TET over several seeds on embedded event data, and what the fused LIF kernel
buys on this machine.

For each seed both methods start from identical weights and see the same mini-batches in the same order; they
differ only in the number of steps each mini-batch is trained at (always T, or t ~ Uniform{1..T}). The seeds
change the initial weights, the batch order and SLT's draws; the data are the same for all runs. Then the LIF
layers of the demo's own network are timed, forward+backward at their training shapes, with the fused kernel,
the plain loop over time, and that loop under ``torch.compile`` (when it compiles within ``--compile-budget``).

Writes, under ``--out`` (replaced by the next demo run into the same folder): ``demo.csv`` (every seed's
accuracy at every latency, seconds per epoch) and ``demo.png`` (accuracy vs latency with error bands; training
time per epoch).
"""
from __future__ import annotations

import argparse
import os
import platform
import time

from ..losses import LOSSES
from ..train.config import TrainConfig
from .usage import UsageError, require_positive, set_threads

# Embedded data the demo runs on without files -> dataset options for a run at up to T steps. The event digits are
# area-resized to 12x12: on a 2-core CPU that keeps 3 seeds x 2 methods within about two minutes, while t = 1 still
# sees too few events to be sure of the digit, so latency matters.
DEMO_DATA = {
    "event-digits": lambda T: {"T": T, "size": 12},
    "digits": lambda T: {},
}
DEFAULTS = dict(data="event-digits", T=6, epochs=3, seeds=3, lr=0.01, batch_size=64, seed=0, out="runs/demo",
                compile_budget=10.0)


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("-T", "--T", dest="T", type=int, default=DEFAULTS["T"], help="training T of both methods")
    p.add_argument("--eval-T", type=int, help="evaluate latencies 1..eval-T (default T)")
    p.add_argument("--epochs", type=int, default=DEFAULTS["epochs"])
    p.add_argument("--seeds", type=int, default=DEFAULTS["seeds"], help="runs per method, seeds seed..seed+N-1")
    p.add_argument("--seed", type=int, default=DEFAULTS["seed"], help="first seed")
    p.add_argument("--lr", type=float, default=DEFAULTS["lr"])
    p.add_argument("--batch-size", type=int, default=DEFAULTS["batch_size"])
    p.add_argument("--model", default="digits_cnn", help="model name from fastlif.models")
    p.add_argument("--data", choices=sorted(DEMO_DATA), default=DEFAULTS["data"],
                   help="embedded data: the 8x8 digits as DVS-like event frames (default; early steps see only "
                        "part of the events, so latency matters) or the static digits")
    p.add_argument("--loss", choices=LOSSES, default="tet", help="base loss of both methods (sdt: SDT vs SLT-SDT)")
    p.add_argument("--out", default=DEFAULTS["out"],
                   help="folder for demo.csv and demo.png (a later demo into the same folder replaces them)")
    p.add_argument("--compile-budget", type=float, default=DEFAULTS["compile_budget"],
                   help="seconds allowed to torch.compile and time the reference loop in a child process; "
                        "past it that line is skipped (0: skip it)")
    p.add_argument("--threads", type=int, default=1,
                   help="torch CPU threads (default 1: the digits net is too small to gain from more, and extra "
                        "threads slow it down many times over on a busy machine)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def machine() -> str:
    """The CPU (or GPU) model, core count, torch version and threads: what the timings depend on."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next((ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), cpu)
    except OSError:
        pass
    gpu = f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else ""
    return (f"{cpu}, {os.cpu_count()} cores{gpu}; torch {torch.__version__}, {torch.get_num_threads()} "
            f"thread{'s' if torch.get_num_threads() != 1 else ''}")


def _config(args) -> TrainConfig:
    require_positive(args.seeds, "seeds")
    if args.compile_budget < 0:
        raise UsageError(f"compile_budget: expected seconds >= 0, got {args.compile_budget}")
    try:
        data_kwargs = DEMO_DATA[args.data](max(args.T, args.eval_T or 0))
        return TrainConfig(model=args.model, data=args.data, data_kwargs=data_kwargs, loss=args.loss, T=args.T,
                           eval_T=args.eval_T, epochs=args.epochs, lr=args.lr, batch_size=args.batch_size,
                           seed=args.seed, out_dir=None, progress=not args.no_progress, tensorboard=False,
                           verbose=False).validate()
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from e


def train_seeds(base: TrainConfig, seeds, bundle, log=print):
    """Train fixed-T and SLT at every seed on ``bundle``; returns ([MethodRuns fixed, MethodRuns SLT], the last
    trainer's model) — runs keep nothing on disk, the demo's CSV holds their numbers."""
    from ..train.trainer import Trainer, run_label
    from .demo_report import MethodRuns

    methods = {lat: MethodRuns(run_label(base.replace(latency=lat))) for lat in ("fixed", "slt")}
    model = None
    for seed in seeds:
        for latency, runs in methods.items():
            start = time.perf_counter()
            try:
                trainer = Trainer(base.replace(latency=latency, seed=seed), bundle=bundle)
            except (ValueError, TypeError, FileNotFoundError) as e:
                raise UsageError(str(e)) from e
            try:
                result = trainer.fit()
            finally:
                trainer.close()
            h = result.history
            secs = sum(row["train_time_s"] for row in h) / len(h)
            runs.add(seed, result.accuracy, secs, sum(row["mean_t"] for row in h) / len(h))
            model = trainer.model
            log(f"  seed {seed} {runs.label:>12}: t=1 {100 * result.accuracy[0]:6.2f}%  t={len(result.accuracy)} "
                f"{100 * result.accuracy[-1]:6.2f}%  {secs:5.2f} s/epoch  ({time.perf_counter() - start:.0f} s "
                f"with evaluation)", flush=True)
    return list(methods.values()), model


def kernel_line(model, bundle, base: TrainConfig, compile_budget: float) -> str:
    """The demo's kernel timing, or why it could not run here."""
    import torch

    from . import lif_speed

    device = next(model.parameters()).device
    n = min(base.batch_size, len(bundle.train))
    x = torch.stack([bundle.train[i][0] for i in range(n)]).to(device)
    x = bundle.prepare(x, True, torch.Generator().manual_seed(0))
    layers = lif_speed.model_lif_layers(model, x, base.steps(), bundle.event)
    try:
        speed = lif_speed.measure(layers, device, compile_budget_s=compile_budget)
    except ValueError as e:
        return f"LIF kernel timing skipped: {e}"
    return lif_speed.format_speed(speed)


def run(args) -> int:
    set_threads(args.threads)
    base = _config(args)
    from ..data import get_dataset
    from . import demo_report

    seeds = list(range(args.seed, args.seed + args.seeds))
    print(f"fastlif demo: {args.model} on {args.data}, {args.loss.upper()} loss, T={args.T}, {args.epochs} epochs, "
          f"seeds {seeds[0]}..{seeds[-1]} (the same seeds for both methods)\nmachine: {machine()}\n", flush=True)
    started, cpu_started = time.perf_counter(), time.process_time()
    try:
        bundle = get_dataset(base.data, base.data_root, **base.data_kwargs)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from e
    methods, model = train_seeds(base, seeds, bundle)
    n_test = len(bundle.test)
    print()
    print(demo_report.format_table(methods, n_test))
    print()
    print(kernel_line(model, bundle, base, args.compile_budget))
    csv_path = demo_report.write_csv(methods, os.path.join(args.out, "demo.csv"))
    png_path = demo_report.plot(methods, n_test, os.path.join(args.out, "demo.png"),
                                title=f"{args.data}, {args.model}, {args.loss.upper()} loss, T={args.T}, "
                                      f"{args.epochs} epochs, {len(seeds)} seeds — {machine()}")
    # CPU time next to wall time: with one thread they agree on an idle machine, and the gap shows a busy one.
    print(f"\nWrote {csv_path} and {png_path} ({time.perf_counter() - started:.0f} s in all, "
          f"{time.process_time() - cpu_started:.0f} s of this process's CPU time)")
    return 0
