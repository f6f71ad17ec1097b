"""The memory benchmark: what one training step keeps for backward, its peak memory and its time, for fastlif's
models with the compaction on (``fastlif.memory.compact``: spikes as bits, batch norms recomputed), off (the
default), and with
SpikingJelly 2.0's multi-step ``LIFNode`` put in place of every LIFSequence (compaction off: it would recompute
nothing of SpikingJelly's neuron). SpikingJelly's ``memopt`` levels 2–4 measure with the CUDA allocator and refuse
to run on a CPU, so they are not in the CPU rows.
"""
from __future__ import annotations

import copy

import torch
from torch import nn

from fastlif import memory

from .kernels import run_meta
from .models import ModelCase, _peak, _train_step, with_neurons
from .timing import Timer

VARIANTS = ("fastlif-compact", "fastlif-off", "spikingjelly")

COLUMNS = ["machine", "device_name", "torch", "triton", "fastlif", "spikingjelly", "snntorch", "threads",
           "model", "variant", "T", "batch", "input_size", "dtype", "reps", "median_ms", "p20_ms", "p80_ms",
           "saved_mib", "saved_with_params_mib", "peak_mib"]


def cases() -> list[ModelCase]:
    """The issue's sizes at batch 4: VGGSNN on 48×48 two-channel frames and ResNet-19 on 32×32 images at T=4, and
    the tiny window SNN on 8×8 digits (its default T=1 latency, repeated Bernoulli draws at T=4)."""
    return [ModelCase("vggsnn", 4, 4, 48, 2, True), ModelCase("resnet19", 4, 4, 32, 3, False),
            ModelCase("window_snn_tiny", 4, 4, 8, 1, False)]


def variant_model(model: nn.Module, variant: str) -> nn.Module:
    if variant not in VARIANTS:
        raise ValueError(f"variant must be one of {VARIANTS}, got {variant!r}")
    if variant == "spikingjelly":
        net, _ = with_neurons(model, "spikingjelly")
        return memory.compact(net, False)
    return memory.compact(copy.deepcopy(model), variant == "fastlif-compact")


def bench_case(case: ModelCase, model: nn.Module, variants: list[str], timer: Timer,
               device: torch.device) -> list[dict]:
    """One row per variant: bytes kept for backward by one forward (input and parameters excluded, and with the
    parameters as the issue counts them), the peak over one training step, and the step time. The variants'
    steps are timed interleaved, round after round (``Timer.measure_many``), so on a shared machine they see the
    same load and "default vs off" compares like with like."""
    x, y = case.batch_tensors(device)
    steps, rows = [], []
    for variant in variants:
        net = variant_model(model, variant).train()
        opt = torch.optim.SGD(net.parameters(), lr=1e-3)
        params = list(net.parameters())
        saved = memory.saved_bytes(lambda: net(x, T=case.T), [x, *params]) / 2**20
        param_mib = sum(p.numel() * p.element_size() for p in params) / 2**20
        step = (lambda net, opt: lambda: _train_step(net, opt, x, y, case.T))(net, opt)
        steps.append((step, None))
        rows.append(dict(run_meta(device), model=case.name, variant=variant, T=case.T, batch=case.batch,
                         input_size=case.input_size, dtype="fp32", saved_mib=saved,
                         saved_with_params_mib=saved + param_mib, peak_mib=_peak(device, step)))
    for row, timing in zip(rows, timer.measure_many(steps)):
        row.update(reps=timing.reps, median_ms=timing.median * 1e3, p20_ms=timing.p20 * 1e3,
                   p80_ms=timing.p80 * 1e3)
    return rows
