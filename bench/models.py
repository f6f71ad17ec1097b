"""The model benchmark: training-step throughput and peak memory of whole spiking networks, with fastlif's
neurons, with the reference loop, and with SpikingJelly's LIFNode put in place of every LIFSequence; plus the
SLT-vs-fixed-T epoch-time ratio (SPEC §5: the expected latency (T+1)/2 makes SLT epochs ~0.6 as long).

A training step is forward, the TET loss (SPEC §4, mean over steps of the cross-entropy of O[t]), backward and an
SGD update; the optimiser is kept cheap on purpose, so the neurons and convolutions dominate.
"""
from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Callable

import torch
from torch import nn

from fastlif import dispatch
from fastlif.neuron import LIFSequence

from .kernels import cuda_peak_mib, run_meta, saved_bytes
from .machine import PeakRss
from .timing import Timer

NEURONS = ("fastlif", "reference", "spikingjelly")

COLUMNS = ["machine", "device_name", "torch", "triton", "fastlif", "spikingjelly", "snntorch", "threads",
           "model", "neuron", "backend", "T", "batch", "input_size", "dtype", "reps", "median_ms", "p20_ms",
           "p80_ms", "samples_per_s", "saved_mib", "peak_mib", "slt_epoch_ratio"]


@dataclass(frozen=True)
class ModelCase:
    """One network at one size: ``name`` for ``fastlif.models.get``, the input it takes, and the batch."""
    name: str
    T: int
    batch: int
    input_size: int
    in_channels: int
    events: bool  # True: an event sequence [T, B, C, H, W]; False: a static image [B, C, H, W] repeated T times
    num_classes: int = 10

    def kwargs(self) -> dict:
        kw = dict(num_classes=self.num_classes, T=self.T, in_channels=self.in_channels)
        if self.name == "vggsnn":
            kw["input_size"] = self.input_size
        return kw

    def batch_tensors(self, device: torch.device, T: int | None = None):
        gen = torch.Generator().manual_seed(0)
        T = self.T if T is None else T
        shape = (self.batch, self.in_channels, self.input_size, self.input_size)
        x = torch.rand((T,) + shape if self.events else shape, generator=gen)
        y = torch.randint(0, self.num_classes, (self.batch,), generator=gen)
        return x.to(device), y.to(device)


def paper_cases() -> list[ModelCase]:
    """The issue's configurations: VGGSNN on 48×48 two-channel event frames at T=10, ResNet-19 on 32×32 at T=4, 8."""
    return [ModelCase("vggsnn", 10, 32, 48, 2, True), ModelCase("resnet19", 4, 64, 32, 3, False),
            ModelCase("resnet19", 8, 64, 32, 3, False)]


def quick_cases() -> list[ModelCase]:
    """One small VGGSNN, enough to check the whole path in seconds."""
    return [ModelCase("vggsnn", 2, 1, 16, 2, True)]


def tiny_cases() -> list[ModelCase]:
    """Shrunk so a training step takes about a second on two CPU cores; the CSV records the sizes used."""
    return [ModelCase("vggsnn", 4, 2, 16, 2, True), ModelCase("resnet19", 4, 2, 16, 3, False)]


class SpikingJellyLIF(nn.Module):
    """SpikingJelly's multi-step LIFNode configured as the LIFSequence it replaces (same `[T, ...]` layout)."""

    def __init__(self, neuron: LIFSequence):
        super().__init__()
        from spikingjelly.activation_based import neuron as sj_neuron, surrogate as sj_surrogate
        cfg = neuron.cfg
        if cfg.reset != "hard" or not 0.0 < cfg.decay < 1.0:
            raise ValueError(f"SpikingJelly's LIFNode stands in only for hard reset and 0 < decay < 1, got {cfg}")
        surrogates = {"sigmoid": lambda p: sj_surrogate.Sigmoid(alpha=p), "atan": lambda p: sj_surrogate.ATan(alpha=p),
                      # SpikingJelly's PiecewiseQuadratic(α) is max(0, α − α²|z|): fastlif's triangle at γ = 1/α.
                      "triangle": lambda p: sj_surrogate.PiecewiseQuadratic(alpha=1.0 / p)}
        if cfg.surrogate.name not in surrogates:
            raise ValueError(f"no SpikingJelly surrogate matches {cfg.surrogate.name!r}")
        self.node = sj_neuron.LIFNode(tau=1.0 / (1.0 - cfg.decay), decay_input=False, v_threshold=cfg.threshold,
                                      v_reset=cfg.v_reset, surrogate_function=surrogates[cfg.surrogate.name](
                                          cfg.surrogate.param), detach_reset=cfg.detach_reset, step_mode="m")

    def forward(self, x):
        self.node.reset()
        return self.node(x)


def with_neurons(model: nn.Module, neuron: str) -> tuple[nn.Module, str]:
    """A copy of ``model`` whose LIFSequence layers run ``neuron``; returns it and the backend name for the CSV."""
    if neuron not in NEURONS:
        raise ValueError(f"neuron must be one of {NEURONS}, got {neuron!r}")
    model = copy.deepcopy(model)
    layers = [(parent, name, child) for parent in model.modules() for name, child in parent.named_children()
              if isinstance(child, LIFSequence)]
    if not layers:
        raise ValueError("the model has no LIFSequence layer to swap")
    device = next(model.parameters()).device
    if neuron == "spikingjelly":
        for parent, name, child in layers:
            setattr(parent, name, SpikingJellyLIF(child).to(device))
        return model, "spikingjelly"
    backend = "reference" if neuron == "reference" else dispatch.pick("auto", device)
    for _, _, child in layers:
        child.backend = backend
    return model, backend


def _train_step(model: nn.Module, opt: torch.optim.Optimizer, x, y, T: int):
    opt.zero_grad(set_to_none=True)
    out = model(x, T=T)  # [T, B, classes]
    loss = nn.functional.cross_entropy(out.flatten(0, 1), y.repeat(out.shape[0]))  # TET: mean over t of CE(O[t], y)
    loss.backward()
    opt.step()


def _peak(device: torch.device, call: Callable[[], object]) -> float | None:
    """Peak memory of ``call`` in MiB above what was held before it (CUDA allocator; CPU resident set)."""
    if device.type == "cuda":
        return cuda_peak_mib(call, device)
    with PeakRss() as rss:
        call()
    return rss.mib


def bench_model(case: ModelCase, model: nn.Module, neuron: str, timer: Timer, device: torch.device) -> dict:
    """One row: median training-step time, samples/s and memory of ``model`` with ``neuron`` layers.

    Memory twice: ``saved_mib``, what autograd keeps for backward in one forward (exact, the same on every device,
    independent of measuring order) and ``peak_mib`` over a training step (CUDA allocator; on CPU the resident set,
    which understates every variant measured after the first, as freed heap pages get reused).
    """
    net, backend = with_neurons(model, neuron)
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    x, y = case.batch_tensors(device)
    step = lambda: _train_step(net, opt, x, y, case.T)  # noqa: E731
    saved = saved_bytes(lambda: net(x, T=case.T), [x, *net.parameters()]) / 2**20
    peak = _peak(device, step)  # the first step also allocates the gradients: count them
    timing = timer.measure(step)
    return dict(run_meta(device), model=case.name, neuron=neuron, backend=backend, T=case.T, batch=case.batch,
                input_size=case.input_size, dtype="fp32", reps=timing.reps, median_ms=timing.median * 1e3,
                p20_ms=timing.p20 * 1e3, p80_ms=timing.p80 * 1e3, samples_per_s=case.batch / timing.median,
                saved_mib=saved, peak_mib=peak)


def slt_epoch_ratio(case: ModelCase, model: nn.Module, device: torch.device, batches: int, seed: int = 0) -> float:
    """Time of an "epoch" of ``batches`` steps at t ~ Uniform{1..T} (SLT) over the same epoch at fixed T.

    The draws come from a seeded generator, as the SLT trainer's do; one warm-up step per distinct t keeps
    one-off costs (allocations, kernel selection) out of both epochs.
    """
    if batches < 1:
        raise ValueError(f"batches must be >= 1, got {batches}")
    net, _ = with_neurons(model, "fastlif")
    net.train()
    opt = torch.optim.SGD(net.parameters(), lr=1e-3)
    gen = torch.Generator().manual_seed(seed)
    draws = torch.randint(1, case.T + 1, (batches,), generator=gen).tolist()
    inputs = {t: case.batch_tensors(device, t) if case.events else case.batch_tensors(device)
              for t in set(draws) | {case.T}}
    for t, (x, y) in inputs.items():
        _train_step(net, opt, x, y, t)

    def epoch(steps: list[int]) -> float:
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        t0 = time.perf_counter()
        for t in steps:
            _train_step(net, opt, *inputs[t], t)
        if device.type == "cuda":
            torch.cuda.synchronize(device)
        return time.perf_counter() - t0

    return epoch(draws) / epoch([case.T] * batches)
