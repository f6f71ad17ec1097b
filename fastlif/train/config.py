"""``TrainConfig``: every option of a training run, validated in one place, saved in every checkpoint."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import List, NamedTuple, Optional

from ..checks import check_int
from ..losses import LOSSES

LATENCIES = ("fixed", "slt")
OPTIMIZERS = ("adam", "sgd")
SCHEDULES = ("cosine", "step", "none")
AMP_MODES = ("none", "bf16", "fp16")


class Stage(NamedTuple):
    """One phase of training at a fixed maximum latency T (TIT runs several in sequence on one model).

    ``optimizer``, ``schedule`` and ``weight_decay`` default (None) to the run's: TET's ImageNet TIT, for
    instance, trains with SGD and fine-tunes with Adam at 1e-4 — ``[(4, 90, 0.1), (6, 30, 1e-4, "adam")]`` with
    ``optimizer="sgd"``; ACML'23 §5.2 fine-tunes with Adam 1e-3, weight decay 1e-4, decayed by 0.1."""

    T: int
    epochs: int
    lr: float
    optimizer: Optional[str] = None
    schedule: Optional[str] = None
    weight_decay: Optional[float] = None


@dataclass
class TrainConfig:
    """Options of one run. The defaults are the embedded default run: a small CNN on sklearn digits, on CPU.

    ``tit`` (time inheritance training, TET §4.3; also any multi-stage recipe such as ACML'23's fine-tune) replaces
    ``T``/``epochs``/``lr`` by a list of stages ``(T, epochs, lr[, optimizer[, schedule[, weight_decay]]])`` run
    in order; each stage starts a fresh optimiser and schedule, of the stage's kind when given, else the run's.

    Schedules, stepped once per epoch of a stage: ``"cosine"`` (to 0 over the stage), ``"step"`` (×0.1 after half
    and after three quarters of the stage's epochs; ACML'23 says only "decayed by 0.1"), ``"none"``.
    ``warmup_epochs``/``warmup_lr`` (timm's warm-up, ACML'23 §5.2): the first stage's rate rises linearly from
    ``warmup_lr`` to its lr over its first ``warmup_epochs`` epochs, then follows the schedule as if warm-up had
    not been there. ``mixup`` (ACML'23 §5.2, 0.1): training batches are mixed with their reverse, λ ~ Beta(α, α)
    per batch, and the loss mixed likewise; 0 turns it off. ``lr_noise`` (ACML'23 §5.2: "the learning rate noise
    is limit in 0.67", timm's ``--lr-noise-pct``): after the warm-up, each epoch of the first stage multiplies its
    rate by 1 + n, n ~ N(0, 1) redrawn until |n| < lr_noise (timm's "normal" noise), from a generator seeded by
    ``seed + epoch``; 0 turns it off. The paper does not give timm's noise range (``--lr-noise``), so the noise
    covers the whole first stage after warm-up.
    ``batch_size`` is the global batch: under DDP each of N processes takes ``batch_size / N``.
    """

    model: str = "digits_cnn"
    model_kwargs: dict = field(default_factory=dict)
    data: str = "digits"
    data_root: Optional[str] = None
    data_kwargs: dict = field(default_factory=dict)
    rebin: bool = False               # event data: re-integrate the events into the run's longest latency in frames
    loss: str = "tet"
    lam: float = 0.05
    phi: float = 1.0
    T: Optional[int] = None           # None: the model's own (fastlif.models.default_T: 1 for window SNNs, else 4)
    eval_T: Optional[int] = None
    latency: str = "fixed"
    tit: Optional[List[Stage]] = None
    optimizer: str = "adam"
    lr: float = 0.01
    momentum: float = 0.9
    weight_decay: float = 0.0
    schedule: str = "cosine"
    warmup_epochs: int = 0
    warmup_lr: float = 0.0
    mixup: float = 0.0
    lr_noise: float = 0.0
    epochs: int = 10
    batch_size: int = 64
    grad_clip: Optional[float] = None
    amp: str = "none"
    seed: int = 0
    device: str = "auto"
    out_dir: Optional[str] = "runs/train"
    resume: Optional[str] = None
    overwrite: bool = False           # replace the run already in out_dir (else starting there is an error)
    progress: bool = True
    tensorboard: bool = True
    workers: int = 0
    verbose: bool = True

    def stages(self) -> List[Stage]:
        if self.tit:
            return [Stage(*s) for s in self.tit]
        return [Stage(self.steps(), self.epochs, self.lr)]

    def steps(self) -> int:
        """``T``, or when None the model's default number of steps (``fastlif.models.default_T``)."""
        if self.T is not None:
            return self.T
        from ..models import DEFAULT_T, default_T, names
        return default_T(self.model) if self.model in names() else DEFAULT_T

    def max_T(self) -> int:
        return max(s.T for s in self.stages())

    def eval_latency(self) -> int:
        """Latencies 1..eval_T are evaluated; by default up to the largest training T."""
        return self.eval_T if self.eval_T is not None else self.max_T()

    def validate(self) -> "TrainConfig":
        def choice(name, allowed):
            value = getattr(self, name)
            if value not in allowed:
                raise ValueError(f"{name}: expected one of {', '.join(allowed)}, got {value!r}")

        choice("loss", LOSSES)
        choice("latency", LATENCIES)
        choice("optimizer", OPTIMIZERS)
        choice("schedule", SCHEDULES)
        choice("amp", AMP_MODES)
        if not isinstance(self.model, str) or not self.model:
            raise ValueError(f"model: expected a model name, got {self.model!r}")
        if not isinstance(self.data, str) or not self.data:
            raise ValueError(f"data: expected a dataset name, got {self.data!r}")
        if self.tit is not None:
            if not isinstance(self.tit, (list, tuple)) or not self.tit:
                raise ValueError(f"tit: expected a non-empty list of (T, epochs, lr) stages, got {self.tit!r}")
            for i, s in enumerate(self.tit):
                if not isinstance(s, (list, tuple)) or not 3 <= len(s) <= 6:
                    raise ValueError(f"tit[{i}]: expected (T, epochs, lr[, optimizer[, schedule[, weight_decay]]]), "
                                     f"got {s!r}")
                st = Stage(*s)
                if st.optimizer is not None and st.optimizer not in OPTIMIZERS:
                    raise ValueError(f"tit[{i}].optimizer: expected one of {', '.join(OPTIMIZERS)} (or None for "
                                     f"the run's), got {st.optimizer!r}")
                if st.schedule is not None and st.schedule not in SCHEDULES:
                    raise ValueError(f"tit[{i}].schedule: expected one of {', '.join(SCHEDULES)} (or None for "
                                     f"the run's), got {st.schedule!r}")
                if st.weight_decay is not None and not st.weight_decay >= 0:
                    raise ValueError(f"tit[{i}].weight_decay: expected >= 0 (or None for the run's), "
                                     f"got {st.weight_decay!r}")
        for i, s in enumerate(self.stages()):
            where = f"tit[{i}]" if self.tit else ""
            check_int(f"{where}.T" if where else "T", s.T)
            check_int(f"{where}.epochs" if where else "epochs", s.epochs)
            if not s.lr > 0:
                raise ValueError(f"{where + '.lr' if where else 'lr'}: expected a learning rate > 0, got {s.lr!r}")
        if self.eval_T is not None:
            check_int("eval_T", self.eval_T)
        check_int("batch_size", self.batch_size)
        if not 0.0 <= self.lam <= 1.0:
            raise ValueError(f"lam: expected a weight in [0, 1], got {self.lam!r}")
        if self.weight_decay < 0:
            raise ValueError(f"weight_decay: expected >= 0, got {self.weight_decay!r}")
        if isinstance(self.warmup_epochs, bool) or not isinstance(self.warmup_epochs, int) or self.warmup_epochs < 0:
            raise ValueError(f"warmup_epochs: expected an integer >= 0, got {self.warmup_epochs!r}")
        if self.warmup_epochs > self.stages()[0].epochs:
            raise ValueError(f"warmup_epochs: {self.warmup_epochs} exceeds the {self.stages()[0].epochs} epochs of "
                             "the first stage")
        if not self.warmup_lr >= 0:
            raise ValueError(f"warmup_lr: expected >= 0, got {self.warmup_lr!r}")
        if not self.mixup >= 0:
            raise ValueError(f"mixup: expected a Beta(alpha, alpha) parameter >= 0 (0 = off), got {self.mixup!r}")
        if isinstance(self.lr_noise, bool) or not isinstance(self.lr_noise, (int, float)) \
                or not 0 <= self.lr_noise < 1:
            raise ValueError(f"lr_noise: expected a noise limit in [0, 1) (0 = off), got {self.lr_noise!r}")
        if self.grad_clip is not None and not self.grad_clip > 0:
            raise ValueError(f"grad_clip: expected a max norm > 0 (or None), got {self.grad_clip!r}")
        check_int("workers", self.workers, low=0)
        check_int("seed", self.seed, low=0)
        for name in ("model_kwargs", "data_kwargs"):
            if not isinstance(getattr(self, name), dict):
                raise TypeError(f"{name}: expected a dict, got {type(getattr(self, name)).__name__}")
        return self

    def to_dict(self) -> dict:
        d = dataclasses.asdict(self)
        # Trailing "the run's" entries are left out, so a (T, epochs, lr) stage saves as it always did.
        d["tit"] = [_trim(list(s)) for s in self.tit] if self.tit else None
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "TrainConfig":
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = set(d) - known
        if unknown:
            raise ValueError(f"config: unknown option(s) {', '.join(sorted(unknown))}")
        d = dict(d)
        if d.get("tit"):
            d["tit"] = [Stage(*s) for s in d["tit"]]
        return cls(**d)

    def replace(self, **changes) -> "TrainConfig":
        return dataclasses.replace(self, **changes)


def _trim(stage: list) -> list:
    while len(stage) > 3 and stage[-1] is None:
        stage.pop()
    return stage
