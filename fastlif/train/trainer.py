"""The training loop: SDT/TET losses, fixed-T or SLT latency, TIT stages, per-epoch evaluation at every latency,
atomic checkpoints with exact resume, DDP.

Reporting: fastlif's own figure is the last epoch's test accuracy; the TET and SLT scripts report the best test
accuracy over epochs. Both are kept, labelled (``best_test_acc``/``best_epoch`` in metrics.csv, ``TrainResult``).
Stages may each use their own optimiser, schedule and weight decay (TET's SGD-then-Adam TIT, ACML'23's fine-tune);
warm-up, learning-rate noise and mixup follow ACML'23 §5.2 / timm (see ``TrainConfig``).

Every random draw of a run derives from ``cfg.seed``: model initialisation from the global generator seeded once,
and per epoch the data order (``DistributedSampler(seed)``), the augmentation and the SLT latencies from private
generators seeded by ``(seed, epoch)``. Resuming therefore needs only the model/optimiser/scheduler state, and on
CPU a resumed run is bit-identical to an uninterrupted one.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import inspect
import json
import math
import os
import shutil
import sys
import time
from dataclasses import dataclass
from typing import List, Optional

import torch
from torch import nn

from ..data import DataBundle, get_dataset
from ..losses import make_loss
from .batches import forward_at, iterate, to_device, train_order
from .checkpoint import CHECKPOINT, CheckpointError, checkpoint_path, load_checkpoint, save_checkpoint
from .config import TrainConfig
from .distributed import init_distributed
from .evaluate import LatencyResult, correct_per_latency, latency_accuracy
from .latency import AUGMENT_STREAM, LatencySampler, mix_seed
from .plots import plot_latency, write_latency_csv

# Options that describe where and how visibly a run executes, not what it computes: they may change on resume.
ENVIRONMENT_OPTIONS = ("out_dir", "resume", "overwrite", "progress", "tensorboard", "workers", "verbose", "device")
# The files a run writes in its folder: any of them there means the folder holds a run.
RUN_FILES = (CHECKPOINT, "config.json", "metrics.csv", "latency.csv", "latency.png", "tensorboard")
# What a checkpoint must hold to continue training (``fastlif energy``/``landscape`` need only config and model).
RESUME_NEEDS = ("config", "model", "optimizer", "scheduler", "scaler", "stage", "epoch_in_stage", "history", "rng")
# Slots of the per-epoch training sums, one float64 tensor so DDP reduces them in one all-reduce.
LOSS_SUM, CORRECT, SAMPLES, LATENCY_SUM = range(4)  # Σ loss·B, correct at the drawn t, samples, Σ t·B


def run_label(cfg: TrainConfig) -> str:
    """A short name for a run in tables and plots, e.g. ``SLT-TET T=8`` or ``TIT-TET T=2>6``."""
    base = cfg.loss.upper()
    if cfg.tit:
        return f"TIT-{base} T={'>'.join(str(s.T) for s in cfg.stages())}"
    return f"{'SLT-' if cfg.latency == 'slt' else ''}{base} T={cfg.steps()}"


def build_model(cfg: TrainConfig, bundle: DataBundle) -> nn.Module:
    """``fastlif.models.get(cfg.model, ...)`` with the data's shape facts and the largest training T as the model's
    default T, passing only the facts the builder takes (``cfg.model_kwargs`` win over them)."""
    from .. import models

    if cfg.model not in models.names():
        raise ValueError(f"model: unknown model {cfg.model!r}; expected one of {', '.join(models.names())}")
    params = inspect.signature(models.builder(cfg.model)).parameters
    takes_any = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params.values())
    facts = {"num_classes": bundle.num_classes, "in_channels": bundle.in_channels, "input_size": bundle.input_size,
             "T": cfg.max_T()}
    kw = {k: v for k, v in facts.items() if takes_any or k in params}
    kw.update(cfg.model_kwargs)
    return models.get(cfg.model, **kw)


def load_data(cfg: TrainConfig) -> DataBundle:
    """The run's data set; with ``cfg.rebin`` an event set is built with one frame per step of the longest latency
    the run trains or evaluates at (its events re-integrated into that many frames)."""
    from ..data import DATASETS

    kwargs = dict(cfg.data_kwargs)
    if cfg.rebin:
        if cfg.data in DATASETS and "T" not in inspect.signature(DATASETS[cfg.data]).parameters:
            raise ValueError(f"rebin: {cfg.data} is not event data (it has no frames to re-integrate)")
        kwargs["T"] = max(cfg.max_T(), cfg.eval_latency())
    return get_dataset(cfg.data, cfg.data_root, **kwargs)


def check_frames(cfg: TrainConfig, frames: int, name: str) -> None:
    """Event samples ``[T0, C, H, W]``: the longest latency must use all T0 frames — a shorter one would train on
    the first part of every recording only, a longer one has no data."""
    longest = max(cfg.max_T(), cfg.eval_latency())
    if longest != frames:
        raise ValueError(f"T: the run's longest latency is {longest} (T={cfg.max_T()}, eval_T={cfg.eval_latency()}) "
                         f"but {name} has {frames} frames per sample, which it would "
                         f"{'cut to their first ' + str(longest) if longest < frames else 'not cover'}; pass --rebin "
                         f"(rebin=True) to re-integrate each recording's events into {longest} frames, or -T {frames}")


def pick_device(name: str, local_rank: int) -> torch.device:
    if name == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(name)
    except RuntimeError as e:
        raise ValueError(f"device: {e}") from e
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} requested but no CUDA device is available")
    if dev.type == "cuda" and dev.index is None:
        dev = torch.device(f"cuda:{local_rank}")
    return dev


@dataclass
class LrFactor:
    """Epoch e of a stage → its learning rate over the stage's lr (a ``LambdaLR`` factor; a dataclass, so the
    scheduler's state_dict saves it). See ``TrainConfig`` for the schedules and the warm-up."""

    schedule: str
    epochs: int
    warmup_epochs: int = 0
    warmup_start: float = 0.0      # warmup_lr / lr
    noise: float = 0.0             # lr_noise: the limit of the noise after the warm-up (0: none)
    noise_seed: int = 0

    def __call__(self, e: int) -> float:
        if e < self.warmup_epochs:
            return self.warmup_start + e * (1.0 - self.warmup_start) / self.warmup_epochs
        return self._schedule(e) * (1.0 + self._noise(e))

    def _schedule(self, e: int) -> float:
        if self.schedule == "cosine":
            return 0.5 * (1.0 + math.cos(math.pi * e / self.epochs))
        if self.schedule == "step":
            return 0.1 ** sum(e >= m for m in (self.epochs // 2, (3 * self.epochs) // 4))
        return 1.0

    def _noise(self, e: int) -> float:
        """timm's "normal" lr noise: N(0, 1) redrawn until within ±noise, from a generator seeded per epoch."""
        if not self.noise:
            return 0.0
        g = torch.Generator().manual_seed(self.noise_seed + e)
        while True:
            n = torch.randn(1, generator=g).item()
            if abs(n) < self.noise:
                return n


@dataclass
class TrainResult:
    """Both accuracies the papers' code could mean: fastlif's own is the last epoch's; the TET and SLT scripts
    report the best test accuracy over epochs. ``best_*`` is the epoch with the highest accuracy at t = eval_T."""

    label: str
    accuracy: List[float]   # test accuracy at latency t = 1..eval_T after the last epoch run
    test_loss: float
    history: List[dict]     # one row per epoch (also in metrics.csv)
    finished: bool          # all stages done (False when stopped early by ``max_epochs``)
    out_dir: Optional[str]
    best_accuracy: List[float] = dataclasses.field(default_factory=list)  # t = 1..eval_T at the best epoch
    best_epoch: Optional[int] = None        # 1-based, over all stages

    def summary(self) -> str:
        """One labelled line: last-epoch and best-over-epochs test accuracy at the largest evaluated latency."""
        if not self.accuracy:
            return f"[{self.label}] no epoch run"
        T, last = len(self.accuracy), self.history[-1]["epoch"]
        return (f"[{self.label}] test accuracy at t={T}: last epoch ({last}) {100 * self.accuracy[-1]:.2f}%, "
                f"best over epochs {100 * self.best_accuracy[-1]:.2f}% (epoch {self.best_epoch})")


class Trainer:
    """Builds everything from a ``TrainConfig`` (raising ValueError/TypeError/FileNotFoundError on bad options before
    any training), then ``fit()`` trains. ``model``/``bundle`` may be given directly instead of by name."""

    def __init__(self, cfg: TrainConfig, *, model: Optional[nn.Module] = None,
                 bundle: Optional[DataBundle] = None):
        self.cfg = cfg.validate()
        self.stages = cfg.stages()
        self.eval_T = cfg.eval_latency()
        want_cuda = cfg.device.startswith("cuda") or (cfg.device == "auto" and torch.cuda.is_available())
        self.ctx = init_distributed(want_cuda)
        self.device = pick_device(cfg.device, self.ctx.local_rank)
        if cfg.amp == "fp16" and self.device.type != "cuda":  # CPU autocast does bf16; fp16 needs a GradScaler
            raise ValueError(f"amp: fp16 autocast is for CUDA devices (on {self.device}, use --amp bf16)")
        if cfg.batch_size % self.ctx.world_size:
            raise ValueError(f"batch_size: the global batch {cfg.batch_size} must divide evenly over "
                             f"{self.ctx.world_size} processes")
        self.local_batch = cfg.batch_size // self.ctx.world_size
        self._claim_out_dir()

        torch.manual_seed(cfg.seed)
        bundle = bundle if bundle is not None else load_data(cfg)
        self.bundle = dataclasses.replace(bundle, train=to_device(bundle.train, self.device),
                                          test=to_device(bundle.test, self.device))
        if self.bundle.event:
            check_frames(cfg, len(self.bundle.test[0][0]), self.bundle.name)
        self.model = (model if model is not None else build_model(cfg, self.bundle)).to(self.device)
        self.net = self.model
        if self.ctx.enabled:
            ids = [self.device.index] if self.device.type == "cuda" else None
            self.net = nn.parallel.DistributedDataParallel(self.model, device_ids=ids)
        self.loss_fn = make_loss(cfg.loss, cfg.lam, cfg.phi)
        self.scaler = torch.amp.GradScaler("cuda", enabled=cfg.amp == "fp16")
        self.history: List[dict] = []
        self.last_latencies: List[int] = []  # the t drawn for each mini-batch of the last epoch
        self.stage_index = 0
        self.epoch_in_stage = 0
        self._start_stage(0)
        self._tb = None
        self.out_dir = cfg.out_dir
        if cfg.resume:
            self.load(checkpoint_path(cfg.resume, cfg.out_dir))
        if self.ctx.is_main and self.out_dir:  # the run folder and its options exist from the start
            self._write_config()

    # ---- set-up -----------------------------------------------------------------------------------------------
    def _claim_out_dir(self) -> None:
        """Refuse to start in a folder that holds another run (a checkpoint or results), unless resuming that run
        or told to overwrite it (then its files go first, so the folder never mixes two runs)."""
        cfg = self.cfg
        if not cfg.out_dir:
            return
        found = [f for f in RUN_FILES if os.path.exists(os.path.join(cfg.out_dir, f))]
        if found == ["config.json"]:  # a run stopped before its first epoch ended: nothing trained to lose
            found = []
        resuming_here = cfg.resume and os.path.realpath(os.path.dirname(os.path.abspath(
            checkpoint_path(cfg.resume, cfg.out_dir)))) == os.path.realpath(cfg.out_dir)
        if found and not resuming_here:
            if not cfg.overwrite:
                raise ValueError(f"out_dir: {cfg.out_dir} already holds a run ({', '.join(found)}); choose another "
                                 "--out, continue that run with --resume, or replace it with --overwrite")
            self.ctx.barrier()  # every rank has looked before rank 0 deletes
            if self.ctx.is_main:
                for f in found:
                    path = os.path.join(cfg.out_dir, f)
                    shutil.rmtree(path) if os.path.isdir(path) else os.unlink(path)
        self.ctx.barrier()

    def _start_stage(self, i: int) -> None:
        """Fresh optimiser, schedule and latency sampler for stage ``i`` (TIT restarts them at every stage); the
        stage's optimizer/schedule kind when it names one, else the run's."""
        cfg, stage = self.cfg, self.stages[i]
        params = self.model.parameters()
        wd = cfg.weight_decay if stage.weight_decay is None else stage.weight_decay
        if (stage.optimizer or cfg.optimizer) == "adam":
            self.optimizer = torch.optim.Adam(params, lr=stage.lr, betas=(0.9, 0.999), weight_decay=wd)
        else:
            self.optimizer = torch.optim.SGD(params, lr=stage.lr, momentum=cfg.momentum, weight_decay=wd)
        warmup, noise = (cfg.warmup_epochs, cfg.lr_noise) if i == 0 else (0, 0.0)
        factor = LrFactor(stage.schedule or cfg.schedule, stage.epochs, warmup, cfg.warmup_lr / stage.lr,
                          noise, cfg.seed)
        self.scheduler = torch.optim.lr_scheduler.LambdaLR(self.optimizer, factor)
        self.latency = LatencySampler(cfg.latency, stage.T, cfg.seed)

    @property
    def global_epoch(self) -> int:
        """Epochs completed so far over all stages; also the index that seeds the next epoch's draws."""
        return sum(s.epochs for s in self.stages[:self.stage_index]) + self.epoch_in_stage

    @property
    def finished(self) -> bool:
        return self.stage_index >= len(self.stages)

    def _autocast(self):
        if self.cfg.amp == "none":
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16 if self.cfg.amp == "bf16" else torch.float16)

    # ---- training ---------------------------------------------------------------------------------------------
    def fit(self, max_epochs: Optional[int] = None) -> TrainResult:
        """Train the remaining epochs of all stages (at most ``max_epochs`` in this call), checkpointing every epoch.

        On completion rank 0 writes ``latency.csv`` and ``latency.png`` to ``out_dir``."""
        ran = 0
        while not self.finished and (max_epochs is None or ran < max_epochs):
            row = self._epoch()
            self._track_best(row)
            ran += 1
            self.history.append(row)
            self.epoch_in_stage += 1
            if self.epoch_in_stage == self.stages[self.stage_index].epochs:
                self.stage_index, self.epoch_in_stage = self.stage_index + 1, 0
                if not self.finished:
                    self._start_stage(self.stage_index)
            self._write_epoch_outputs(row)
        if self.finished and self.ctx.is_main and self.out_dir and self.history:
            acc = self.history[-1]["accuracy"]
            write_latency_csv({run_label(self.cfg): acc}, os.path.join(self.out_dir, "latency.csv"))
            plot_latency({run_label(self.cfg): acc}, os.path.join(self.out_dir, "latency.png"))
        return self.result()

    def _track_best(self, row: dict) -> None:
        """``best_test_acc``/``best_epoch``: the highest accuracy at t = eval_T over the epochs so far (the seeds'
        report), carried in every row; ties keep the earlier epoch."""
        best = max(self.history + [row], key=lambda r: (r["accuracy"][-1], -r["epoch"]))
        row["best_test_acc"], row["best_epoch"] = best["accuracy"][-1], best["epoch"]

    def result(self) -> TrainResult:
        last = self.history[-1] if self.history else None
        best = None
        if last is not None and "best_epoch" in last:
            best = next(r for r in self.history if r["epoch"] == last["best_epoch"])
        return TrainResult(label=run_label(self.cfg), accuracy=list(last["accuracy"]) if last else [],
                           test_loss=last["test_loss"] if last else float("nan"), history=list(self.history),
                           finished=self.finished, out_dir=self.out_dir,
                           best_accuracy=list(best["accuracy"]) if best else [],
                           best_epoch=best["epoch"] if best else None)

    def _epoch(self) -> dict:
        cfg, stage, epoch = self.cfg, self.stages[self.stage_index], self.global_epoch
        self.net.train()
        self.latency.start_epoch(epoch)
        aug_gen = torch.Generator().manual_seed(mix_seed(cfg.seed, epoch, self.ctx.rank, AUGMENT_STREAM))
        order = train_order(self.bundle.train, self.ctx, cfg.seed, epoch)
        batches = iterate(self.bundle.train, order, self.local_batch, self.device, cfg.workers, drop_last=True)
        n_batches = max(1, len(order) // self.local_batch) if len(order) > self.local_batch else 1
        bar = _progress(cfg.progress and self.ctx.is_main, n_batches,
                        f"stage {self.stage_index + 1}/{len(self.stages)} epoch {self.epoch_in_stage + 1}/"
                        f"{stage.epochs}")
        sums = torch.zeros(LATENCY_SUM + 1, dtype=torch.float64, device=self.device)
        lr = self.optimizer.param_groups[0]["lr"]
        self.last_latencies = []
        start = time.perf_counter()
        for x, y in batches:
            t = self.latency.draw()
            self.last_latencies.append(t)
            x = self.bundle.prepare(x, True, aug_gen)
            mix = mixup_weight(cfg.mixup, aug_gen)
            if mix is not None:     # the batch mixed with its reverse, as timm's Mixup in "batch" mode
                x = mix * x + (1 - mix) * x.flip(0)
            with self._autocast():
                O = forward_at(self.net, x, t, self.bundle.event)
                loss = self.loss_fn(O.float(), y)
                if mix is not None:     # both losses are linear in the one-hot target: this is the mixed target's
                    loss = mix * loss + (1 - mix) * self.loss_fn(O.float(), y.flip(0))
            self.optimizer.zero_grad(set_to_none=True)
            self.scaler.scale(loss).backward()
            if cfg.grad_clip is not None:
                self.scaler.unscale_(self.optimizer)
                nn.utils.clip_grad_norm_(self.model.parameters(), cfg.grad_clip)
            self.scaler.step(self.optimizer)
            self.scaler.update()
            b = len(y)
            # Accumulated on the device: no host sync per step (the bar reads them every few steps only).
            sums[LOSS_SUM] += loss.detach().double() * b
            sums[CORRECT] += correct_per_latency(O.detach(), y)[-1]
            sums[SAMPLES] += b
            sums[LATENCY_SUM] += t * b
            if bar is not None:
                bar.update(1)
                if bar.n % 10 == 1 or bar.n == n_batches:
                    seen = float(sums[SAMPLES])
                    bar.set_postfix(loss=f"{float(sums[LOSS_SUM]) / seen:.3f}",
                                    acc=f"{100 * float(sums[CORRECT]) / seen:.1f}%",
                                    t=t, img_s=f"{self.ctx.world_size * seen / (time.perf_counter() - start):.0f}")
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)
        train_time = time.perf_counter() - start
        if bar is not None:
            bar.close()
        self.scheduler.step()
        self.ctx.all_reduce_sum(sums)
        ev = self.evaluate()
        n = max(float(sums[SAMPLES]), 1.0)
        return {
            "stage": self.stage_index + 1, "epoch": epoch + 1, "T": stage.T, "lr": lr,
            "train_loss": float(sums[LOSS_SUM]) / n, "train_acc": float(sums[CORRECT]) / n,
            "mean_t": float(sums[LATENCY_SUM]) / n,
            "train_time_s": train_time, "train_samples_per_s": float(sums[SAMPLES]) / max(train_time, 1e-9),
            "test_loss": ev.loss, "test_samples": ev.samples, "test_acc": ev.at(min(stage.T, self.eval_T)),
            "accuracy": ev.accuracy,
        }

    def evaluate(self, T_eval: Optional[int] = None) -> LatencyResult:
        """Test accuracy at every latency 1..T_eval (default the configured eval_T) and the loss at the current T."""
        stage_T = self.stages[min(self.stage_index, len(self.stages) - 1)].T
        # The unwrapped model: evaluation shards may differ in batch count across ranks, which DDP must not see.
        return latency_accuracy(self.model, self.bundle, T_eval or self.eval_T, self.device,
                                batch_size=max(self.local_batch, 256), loss_fn=self.loss_fn, loss_T=stage_T,
                                ctx=self.ctx, workers=self.cfg.workers,
                                autocast=None if self.cfg.amp == "none" else self._autocast)

    # ---- outputs ----------------------------------------------------------------------------------------------
    def _write_epoch_outputs(self, row: dict) -> None:
        if self.ctx.is_main:
            if self.cfg.verbose:
                acc = row["accuracy"]
                print(f"[{run_label(self.cfg)}] epoch {row['epoch']}/{sum(s.epochs for s in self.stages)} "
                      f"loss {row['train_loss']:.4f} train {100 * row['train_acc']:.1f}% (mean t {row['mean_t']:.2f}) "
                      f"| test@t=1 {100 * acc[0]:.2f}% test@T {100 * row['test_acc']:.2f}% "
                      f"best@t={len(acc)} {100 * row['best_test_acc']:.2f}% (epoch {row['best_epoch']}) "
                      f"| {row['train_time_s']:.1f}s {row['train_samples_per_s']:.0f} img/s", flush=True)
            if self.out_dir:
                os.makedirs(self.out_dir, exist_ok=True)
                self._write_metrics_csv()
                self._log_tensorboard(row)
                self.save(os.path.join(self.out_dir, CHECKPOINT))
        self.ctx.barrier()

    def _write_metrics_csv(self) -> None:
        path = os.path.join(self.out_dir, "metrics.csv")
        t_cols = [f"acc_t{t}" for t in range(1, self.eval_T + 1)]
        keys = [k for k in self.history[0] if k != "accuracy"]
        with open(path, "w", newline="") as f:
            w = csv.writer(f)
            w.writerow(keys + t_cols)
            for r in self.history:
                w.writerow([r[k] for k in keys] + [f"{a:.6f}" for a in r["accuracy"]])
        self._write_config()

    def _write_config(self) -> None:
        os.makedirs(self.out_dir, exist_ok=True)
        with open(os.path.join(self.out_dir, "config.json"), "w") as f:
            json.dump(self.cfg.to_dict(), f, indent=2)

    def _log_tensorboard(self, row: dict) -> None:
        if not self.cfg.tensorboard:
            return
        if self._tb is None:
            try:
                from torch.utils.tensorboard import SummaryWriter
            except ImportError:  # TensorBoard is optional: CSV and the plot are the primary record
                self.cfg = self.cfg.replace(tensorboard=False)
                return
            self._tb = SummaryWriter(os.path.join(self.out_dir, "tensorboard"))
        step = row["epoch"]
        for k in ("train_loss", "train_acc", "test_loss", "test_acc", "best_test_acc", "lr", "mean_t",
                  "train_samples_per_s"):
            self._tb.add_scalar(k, row[k], step)
        for t, a in enumerate(row["accuracy"], start=1):
            self._tb.add_scalar(f"test_acc_at_t/{t}", a, step)
        self._tb.flush()

    # ---- checkpoints ------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        rng = {"torch": torch.get_rng_state()}
        if torch.cuda.is_available():
            rng["cuda"] = torch.cuda.get_rng_state_all()
        return {
            "config": self.cfg.to_dict(), "model": self.model.state_dict(),
            "optimizer": self.optimizer.state_dict(), "scheduler": self.scheduler.state_dict(),
            "scaler": self.scaler.state_dict(), "stage": self.stage_index, "epoch_in_stage": self.epoch_in_stage,
            "history": self.history, "rng": rng,
        }

    def save(self, path) -> str:
        return save_checkpoint(self.state_dict(), path)

    def load(self, path) -> None:
        """Continue from a checkpoint of a run with the same options (environment options may differ)."""
        try:
            ck = load_checkpoint(path, map_location="cpu", need=RESUME_NEEDS)
        except FileNotFoundError as e:
            raise FileNotFoundError(f"resume: {e}") from None
        except CheckpointError as e:
            raise CheckpointError(f"resume: {e}") from None
        theirs, ours = ck["config"], self.cfg.to_dict()
        # More (or fewer, down to those done) epochs of a one-stage run continue it; nothing else may change.
        extendable = () if self.cfg.tit else ("epochs",)
        diff = [k for k in ours if k not in ENVIRONMENT_OPTIONS + extendable and theirs.get(k, ours[k]) != ours[k]]
        if diff:
            raise ValueError("resume: the checkpoint was trained with different options: " + ", ".join(
                f"{k} ({theirs.get(k)!r} there, {ours[k]!r} here)" for k in diff))
        self.model.load_state_dict(ck["model"])
        done = sum(s.epochs for s in TrainConfig.from_dict(theirs).stages()[:ck["stage"]]) + ck["epoch_in_stage"]
        self.stage_index, self.epoch_in_stage = ck["stage"], ck["epoch_in_stage"]
        if not self.cfg.tit and theirs.get("epochs") != self.cfg.epochs:
            if done > self.cfg.epochs:
                raise ValueError(f"epochs: the checkpoint has trained {done} epochs already, more than {self.cfg.epochs}")
            self.stage_index, self.epoch_in_stage = (1, 0) if done == self.cfg.epochs else (0, done)
        if not self.finished:
            self._start_stage(self.stage_index)
            self.optimizer.load_state_dict(ck["optimizer"])
            # The factor is rebuilt from the config (it follows --epochs when those were changed; checkpoints from
            # before the LambdaLR schedules hold a CosineAnnealingLR/ConstantLR state): only last_epoch is taken, and
            # the rate set from it as LambdaLR.step would.
            sched = dict(ck["scheduler"], lr_lambdas=self.scheduler.state_dict()["lr_lambdas"])
            self.scheduler.load_state_dict(sched)
            s = self.scheduler
            for group, base, factor in zip(self.optimizer.param_groups, s.base_lrs, s.lr_lambdas):
                group["lr"] = base * factor(s.last_epoch)
            s._last_lr = [group["lr"] for group in self.optimizer.param_groups]
        self.scaler.load_state_dict(ck["scaler"])
        self.history = list(ck["history"])
        torch.set_rng_state(ck["rng"]["torch"])
        if "cuda" in ck["rng"] and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(ck["rng"]["cuda"])

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()
            self._tb = None
        self.ctx.shutdown()


def mixup_weight(alpha: float, generator: torch.Generator) -> Optional[float]:
    """λ ~ Beta(α, α) for one batch (None when α = 0), drawn from ``generator`` so a seeded run repeats it."""
    if alpha <= 0:
        return None
    import numpy as np

    seed = int(torch.randint(0, 2 ** 62, (1,), generator=generator))
    return float(np.random.default_rng(seed).beta(alpha, alpha))


def _progress(enabled: bool, total: int, desc: str):
    """A tqdm bar on a terminal only: piped logs get the plain per-epoch lines, not carriage returns."""
    if not enabled or not sys.stderr.isatty():
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=desc, leave=False, file=sys.stderr, dynamic_ncols=True)
