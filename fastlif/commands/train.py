"""``fastlif train``: train an SNN (defaults: the embedded digits run) and print its accuracy at every latency.

Precedence of options: built-in defaults < ``--preset`` < explicit flags. ``--resume`` continues the run saved in
a checkpoint with that run's options: a larger ``--epochs`` extends a one-stage run (its schedule stretched to the
new length from the epoch reached), the flags of where and how visibly it runs (``--out``, ``--device``,
``--workers``, ``--threads``, ``--no-progress``, ``--no-tensorboard``, ``--quiet``) may change, and any other flag
that differs from the run's is an error naming it. A new run never replaces the run in its ``--out`` folder unless
``--overwrite`` is given.
"""
from __future__ import annotations

import argparse
import os
import sys

import torch

from ..losses import LOSSES
from ..train.checkpoint import CHECKPOINT, checkpoint_path, load_checkpoint
from ..train.config import AMP_MODES, LATENCIES, OPTIMIZERS, SCHEDULES, TrainConfig
from ..train.plots import format_table
from ..train.presets import PRESETS, get_preset
from .usage import UsageError, parse_key_values, require_positive

# Embedded data sets whose default models are too small to use several CPU threads well.
SMALL_DATA = ("digits", "event-digits")
# TrainConfig fields that a flag of the same name sets directly
_DIRECT = ("model", "data", "data_root", "loss", "lam", "phi", "T", "eval_T", "latency", "optimizer", "lr",
           "momentum", "weight_decay", "schedule", "epochs", "batch_size", "grad_clip", "amp", "seed", "device",
           "out_dir", "workers", "warmup_epochs", "warmup_lr", "mixup", "lr_noise")


def parse_stages(text: str):
    """``"4:90:0.1,6:30:1e-4:adam:none"`` → [(4, 90, 0.1), (6, 30, 0.0001, "adam", "none")] (TIT stages
    T:epochs:lr[:optimizer[:schedule[:weight_decay]]]; an empty field keeps the run's)."""
    stages = []
    for part in text.split(","):
        fields = part.strip().split(":")
        if not 3 <= len(fields) <= 6:
            raise argparse.ArgumentTypeError(f"expected stages T:epochs:lr[:optimizer[:schedule[:weight_decay]]] "
                                             f"separated by commas, got {part!r}")
        try:
            stage = (int(fields[0]), int(fields[1]), float(fields[2]))
            wd = tuple(float(f) if f else None for f in fields[5:])
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected integers T, epochs and float lr, weight_decay in "
                                             f"{part!r}") from None
        stages.append(stage + tuple(f or None for f in fields[3:5]) + wd)
    return stages


def add_arguments(p: argparse.ArgumentParser) -> None:
    d = TrainConfig()
    p.add_argument("--preset", choices=sorted(PRESETS), help="a paper's settings (explicit flags override)")
    g = p.add_argument_group("model and data")
    g.add_argument("--model", help=f"model name from fastlif.models (default {d.model})")
    g.add_argument("--model-arg", action="append", metavar="KEY=VALUE",
                   help="extra model option, repeatable (e.g. norm=tdbn); neuron options go in --neuron-arg")
    g.add_argument("--neuron-arg", action="append", metavar="KEY=VALUE",
                   help="LIF neuron option for every layer, repeatable (e.g. backend=reference, surrogate=atan)")
    g.add_argument("--data", help=f"dataset name from fastlif.data (default {d.data})")
    g.add_argument("--data-root", help="folder holding the dataset files (CIFAR pickle batches, event recordings)")
    g.add_argument("--data-arg", action="append", metavar="KEY=VALUE",
                   help="extra dataset option, repeatable (event data: cache_dir=DIR keeps the frame cache there)")
    g.add_argument("--rebin", action="store_true",
                   help="event data: re-integrate the events into as many frames as the longest latency (T or "
                        "eval-T), instead of refusing a T that differs from the data's frame count")
    g = p.add_argument_group("loss and latency")
    g.add_argument("--loss", choices=LOSSES, help=f"per-step TET or time-averaged SDT (default {d.loss})")
    g.add_argument("--lam", type=float, help=f"TET's MSE weight lambda (default {d.lam})")
    g.add_argument("--phi", type=float, help=f"TET's MSE target (default V_th = {d.phi})")
    g.add_argument("-T", "--T", dest="T", type=int, help="time steps (the maximum latency under SLT; default 4, 1 for the one-step window SNNs)")
    g.add_argument("--eval-T", type=int, help="evaluate latencies 1..eval-T (default: the largest training T)")
    g.add_argument("--latency", choices=LATENCIES, help="fixed T, or SLT: t ~ Uniform{1..T} per mini-batch")
    g.add_argument("--tit", type=parse_stages, metavar="T:EPOCHS:LR[:OPT[:SCHED]][,...]",
                   help="time inheritance training stages, e.g. 2:300:0.01,6:50:1e-4:adam:none (replaces "
                        "-T/--epochs/--lr; a stage's optimizer/schedule default to --optimizer/--schedule)")
    g = p.add_argument_group("optimisation")
    g.add_argument("--optimizer", choices=OPTIMIZERS, help=f"default {d.optimizer}")
    g.add_argument("--lr", type=float, help=f"learning rate (default {d.lr})")
    g.add_argument("--momentum", type=float, help=f"SGD momentum (default {d.momentum})")
    g.add_argument("--weight-decay", type=float, help=f"default {d.weight_decay}")
    g.add_argument("--schedule", choices=SCHEDULES,
                   help="cosine decay to 0 over each stage, x0.1 steps at 1/2 and 3/4 of it, or constant")
    g.add_argument("--epochs", type=int, help=f"default {d.epochs}")
    g.add_argument("--batch-size", type=int, help=f"global mini-batch size (default {d.batch_size})")
    g.add_argument("--grad-clip", type=float, help="clip the gradient norm to this value")
    g.add_argument("--amp", choices=AMP_MODES, help="bf16/fp16 autocast (fp16 on CUDA only; bf16 also on CPU)")
    g.add_argument("--seed", type=int, help=f"default {d.seed}")
    # ACML'23 §5.2 recipe pieces
    g.add_argument("--warmup-epochs", type=int, help="linear warm-up epochs at the start of the first stage")
    g.add_argument("--warmup-lr", type=float, help="learning rate the warm-up starts from (default 0)")
    g.add_argument("--mixup", type=float, help="mixup Beta(alpha, alpha) parameter (default 0: off)")
    g.add_argument("--lr-noise", type=float, help="timm's learning-rate noise limit (default 0: off)")
    g = p.add_argument_group("run")
    g.add_argument("--device", help="auto (default), cpu, cuda, cuda:1, ...")
    g.add_argument("--threads", type=int,
                   help="torch CPU threads (default: 1 for the embedded digits on CPU, whose tiny model gains "
                        "nothing from more and slows down many times over on a busy machine; else torch's)")
    g.add_argument("--workers", type=int, help="DataLoader workers for on-disk datasets (default 0)")
    g.add_argument("--out", dest="out_dir", help=f"run folder for checkpoint, CSVs and plot (default {d.out_dir})")
    g.add_argument("--resume", nargs="?", const="auto", metavar="CHECKPOINT",
                   help="continue a run: a checkpoint file or run folder (default: the --out folder)")
    g.add_argument("--overwrite", action="store_true", help="replace the run already in the --out folder")
    g.add_argument("--no-progress", action="store_true", help="no progress bars")
    g.add_argument("--no-tensorboard", action="store_true", help="no TensorBoard logs even when installed")
    g.add_argument("--quiet", action="store_true", help="no per-epoch lines")


def config_from_args(args) -> TrainConfig:
    """The run's ``TrainConfig`` from parsed flags (see the module docstring for precedence)."""
    if args.tit is not None:
        given = [flag for flag, value in (("-T", args.T), ("--epochs", args.epochs), ("--lr", args.lr))
                 if value is not None]
        if given:
            raise UsageError(f"--tit: sets T, epochs and lr per stage; drop {', '.join(given)} (or put them in the "
                             "stages)")
    if args.resume:
        return _resumed_config(args)
    return TrainConfig.from_dict(_apply_flags(TrainConfig().to_dict(), args))


def _apply_flags(values: dict, args) -> dict:
    """``values`` with ``--preset`` and the explicit flags applied."""
    values = dict(values)
    if args.preset:
        values.update(get_preset(args.preset))
    for name in _DIRECT:
        if getattr(args, name, None) is not None:
            values[name] = getattr(args, name)
    if args.tit is not None:
        values["tit"] = args.tit
    model_kwargs = dict(values.get("model_kwargs") or {})
    model_kwargs.update(parse_key_values(args.model_arg))
    if args.neuron_arg:
        model_kwargs["neuron"] = parse_key_values(args.neuron_arg)
    values["model_kwargs"] = model_kwargs
    values["data_kwargs"] = {**(values.get("data_kwargs") or {}), **parse_key_values(args.data_arg)}
    values["progress"] = not args.no_progress
    values["tensorboard"] = not args.no_tensorboard
    values["verbose"] = not args.quiet
    values["overwrite"] = args.overwrite
    if args.rebin:
        values["rebin"] = True
    return values


def _flag(option: str) -> str:
    return {"T": "-T", "out_dir": "--out", "model_kwargs": "--model-arg/--neuron-arg",
            "data_kwargs": "--data-arg"}.get(option, "--" + option.replace("_", "-"))


def _resumed_config(args) -> TrainConfig:
    from ..train.trainer import ENVIRONMENT_OPTIONS

    path = checkpoint_path(args.resume, args.out_dir or TrainConfig().out_dir)
    try:
        theirs = TrainConfig.from_dict(load_checkpoint(path, need=("config",))["config"])
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(f"--resume: {e}") from e
    asked = TrainConfig.from_dict(_apply_flags(theirs.to_dict(), args))
    if args.out_dir is None:
        asked = asked.replace(out_dir=os.path.dirname(os.path.abspath(path)))
    old, new = theirs.to_dict(), asked.to_dict()
    extendable = () if theirs.tit else ("epochs",)
    changed = [k for k in new if k not in ENVIRONMENT_OPTIONS + extendable and new[k] != old[k]]
    if changed:
        raise UsageError("--resume: the run was trained with " + ", ".join(
            f"{_flag(k)} {old[k]!r}, not {new[k]!r}" for k in changed) + "; a resumed run keeps its options (only "
            "--epochs, to extend it, and --out, --device, --workers, --threads, --no-progress, --no-tensorboard, "
            "--quiet may change)")
    return asked.replace(resume=path)


def start_summary(trainer) -> str:
    """What is about to run, in one block: where, how big, on which data, backend and latency, written where."""
    from .. import dispatch
    from ..train.trainer import run_label

    cfg, b = trainer.cfg, trainer.bundle
    asked = (cfg.model_kwargs.get("neuron") or {}).get("backend", "auto")
    try:
        backend = dispatch.pick(asked, trainer.device, torch.float32)
    except (ValueError, RuntimeError):
        backend = asked
    params = sum(p.numel() for p in trainer.model.parameters())
    stages = " > ".join(f"T={s.T} for {s.epochs} epochs" for s in trainer.stages)
    return (f"fastlif train: {cfg.model} ({params:,} parameters) on {trainer.device}, LIF backend {backend}\n"
            f"  data {b.name}: {len(b.train)} training / {len(b.test)} test samples, batch {cfg.batch_size}\n"
            f"  {run_label(cfg)}: {stages}, evaluated at t = 1..{trainer.eval_T}\n"
            f"  run folder: {cfg.out_dir or '(none: nothing written)'}")


def interrupted_message(trainer) -> str:
    """Ctrl-C: the checkpoint of the last finished epoch is intact (written atomically); how to continue."""
    done = trainer.global_epoch
    if not trainer.cfg.out_dir or not trainer.history:
        return "\ninterrupted before the first epoch ended: no checkpoint saved"
    return (f"\ninterrupted: {os.path.join(trainer.cfg.out_dir, CHECKPOINT)} holds the run after epoch {done} "
            f"(intact); continue with:\n  fastlif train --resume {trainer.cfg.out_dir}")


def run(args) -> int:
    from ..train.trainer import Trainer

    require_positive(args.threads, "--threads")
    try:
        cfg = config_from_args(args)
        threads = args.threads
        on_cpu = cfg.device == "cpu" or (cfg.device == "auto" and not torch.cuda.is_available())
        if threads is None and on_cpu and cfg.data in SMALL_DATA:
            threads = 1
        if threads is not None:
            torch.set_num_threads(threads)
        trainer = Trainer(cfg)
    except (ValueError, TypeError, FileNotFoundError) as e:
        raise UsageError(str(e)) from e
    if trainer.ctx.is_main and cfg.verbose:
        print(start_summary(trainer), flush=True)
    try:
        try:
            result = trainer.fit()
        except KeyboardInterrupt:
            if trainer.ctx.is_main:
                print(interrupted_message(trainer), file=sys.stderr, flush=True)
            return 130  # the shell's status for a run stopped by SIGINT
        if trainer.ctx.is_main:
            print(f"\nTest accuracy at every latency t, last epoch (one forward pass at t = {cfg.eval_latency()}):")
            print(format_table({result.label: result.accuracy}))
            print(result.summary())
            if cfg.out_dir:
                print(f"\nRun folder: {cfg.out_dir} (metrics.csv, latency.csv, latency.png, {CHECKPOINT})")
    finally:
        trainer.close()
    return 0
