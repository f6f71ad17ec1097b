"""What the fused LIF kernel buys on this machine: forward+backward of a model's own LIF layers, timed per backend.

The demo times, on the shapes its network's LIF layers see in training, the fused backend that training used
against fastlif's plain-PyTorch loop over time (``backend="reference"``, the loop a user would write) and, when it
compiles within a time budget, that loop under ``torch.compile``. Compilation cannot be interrupted inside a
process, so the compiled loop is built and timed in a child process that is killed when the budget runs out.
"""
from __future__ import annotations

import copy
import os
import pickle
import subprocess
import sys
import time
from dataclasses import dataclass
from typing import Callable, List, Optional, Sequence, Tuple

import torch
from torch import nn

from .. import dispatch
from ..neuron import LIFSequence

Shape = Tuple[int, ...]


@dataclass(frozen=True)
class LifLayer:
    """One LIF layer of a model: the input shape ``[T, B, ...]`` it sees and its neuron configuration."""
    shape: Shape
    cfg: object  # fastlif.config.LifConfig


@dataclass
class LifSpeed:
    """Seconds per forward+backward of all the layers together (median over repetitions), per contender; the
    compiled loop's entry is None with ``compiled_skipped`` saying why."""
    layers: List[LifLayer]
    fused_backend: str
    fused_s: float
    reference_s: float
    compiled_s: Optional[float]
    compiled_skipped: Optional[str]


def lif_layers(model: nn.Module, run: Callable[[], object]) -> List[LifLayer]:
    """The LIF layers ``run()`` (a forward of ``model``) goes through, in call order, with their input shapes."""
    found: List[LifLayer] = []
    hooks = [m.register_forward_pre_hook(lambda mod, args: found.append(LifLayer(tuple(args[0].shape), mod.cfg)))
             for m in model.modules() if isinstance(m, LIFSequence)]
    try:
        with torch.no_grad():
            run()
    finally:
        for h in hooks:
            h.remove()
    return found


def _fwd_bwd(layer_fn: Callable[[torch.Tensor], torch.Tensor], x: torch.Tensor, g: torch.Tensor) -> Callable[[], None]:
    def call():
        xg = x.detach().requires_grad_()
        torch.autograd.grad(layer_fn(xg), xg, g)
    return call


def _inputs(layers: Sequence[LifLayer], device: torch.device) -> List[Tuple[torch.Tensor, torch.Tensor]]:
    """Per layer an input that makes some neurons fire and a fixed upstream gradient (seeded: same every run)."""
    gen = torch.Generator().manual_seed(0)
    return [((torch.randn(l.shape, generator=gen) + 0.5).to(device), torch.randn(l.shape, generator=gen).to(device))
            for l in layers]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def median_times(calls: Sequence[Callable[[], object]], device: torch.device, budget_s: float = 0.5,
                 min_reps: int = 3, max_reps: int = 50) -> List[float]:
    """Median seconds per call of each callable, after one warm-up call each.

    The repetitions are interleaved round by round, so on a machine shared with other jobs every contender sees
    the same load; each callable gets ``budget_s`` worth of repetitions, clamped to [min_reps, max_reps].
    """
    if budget_s <= 0:
        raise ValueError(f"budget_s: expected seconds > 0, got {budget_s}")
    if not 1 <= min_reps <= max_reps:
        raise ValueError(f"min_reps, max_reps: expected 1 <= min_reps <= max_reps, got {min_reps}, {max_reps}")

    def once(fn):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        return time.perf_counter() - t0

    for fn in calls:
        once(fn)
    times = [[once(fn)] for fn in calls]
    reps = [int(min(max_reps, max(min_reps, budget_s / max(t[0], 1e-9)))) for t in times]
    for r in range(1, max(reps, default=0)):
        for i, fn in enumerate(calls):
            if r < reps[i]:
                times[i].append(once(fn))
    return [sorted(t)[len(t) // 2] for t in times]


def _time_layers(layers, device, make_fn, budget_s) -> float:
    """Median seconds of one forward+backward of every layer, summed, for the per-layer functions ``make_fn``."""
    calls = [_fwd_bwd(make_fn(l), x, g) for l, (x, g) in zip(layers, _inputs(layers, device))]
    return sum(median_times(calls, device, budget_s))


def _reference_fn(layer: LifLayer):
    from .. import reference
    return lambda x: reference.run(x, None, layer.cfg, False)


def compiled_child() -> None:
    """Child process: read ``(layers, device, budget)`` pickled on stdin, compile the reference loop for each
    layer, time it and print the summed median seconds."""
    layers, device, budget_s = pickle.load(sys.stdin.buffer)
    torch.set_num_threads(int(os.environ.get("FASTLIF_DEMO_THREADS", "1")))

    def make(layer):
        # One static-shape graph per layer; earlier graphs are dropped so dynamo stays under its recompile limit
        # (past it, it would fall back to eager and time the wrong thing).
        torch._dynamo.reset()
        return torch.compile(_reference_fn(layer), dynamic=False)

    secs = 0.0
    for layer, (x, g) in zip(layers, _inputs(layers, torch.device(device))):
        secs += median_times([_fwd_bwd(make(layer), x, g)], torch.device(device), budget_s)[0]
    print(f"COMPILED_SECONDS {secs!r}")


def compiled_reference_seconds(layers: Sequence[LifLayer], device: torch.device, compile_budget_s: float,
                               budget_s: float = 0.5) -> Tuple[Optional[float], Optional[str]]:
    """(seconds, None) for the compiled reference loop, or (None, why it was skipped).

    The child process gets ``compile_budget_s`` seconds in all (start-up, compilation and timing); past that it
    is killed. A budget of 0 skips it without starting anything.
    """
    if compile_budget_s <= 0:
        return None, "skipped (--compile-budget 0)"
    if not hasattr(torch, "compile"):
        return None, "skipped: this torch has no torch.compile"
    package_parent = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (package_parent, os.environ.get("PYTHONPATH"))
                                                      if p),
               FASTLIF_DEMO_THREADS=str(torch.get_num_threads()))
    payload = pickle.dumps((list(layers), str(device), budget_s))
    try:
        proc = subprocess.run([sys.executable, "-c", "from fastlif.commands.lif_speed import compiled_child; "
                               "compiled_child()"], input=payload, capture_output=True, timeout=compile_budget_s,
                              env=env)
    except subprocess.TimeoutExpired:
        return None, (f"skipped: it did not compile and run within {compile_budget_s:g} s (--compile-budget; "
                      "inductor caches what it compiled, so a later run may fit)")
    for line in proc.stdout.decode(errors="replace").splitlines():
        if line.startswith("COMPILED_SECONDS "):
            return float(line.split()[1]), None
    err = [ln for ln in proc.stderr.decode(errors="replace").splitlines() if ln.strip()]
    return None, f"skipped: torch.compile failed ({err[-1] if err else f'exit status {proc.returncode}'})"


def measure(layers: Sequence[LifLayer], device: torch.device, fused_backend: str = "auto",
            compile_budget_s: float = 10.0, budget_s: float = 0.5) -> LifSpeed:
    """Time forward+backward of ``layers`` with the fused backend, the reference loop and the compiled loop."""
    if not layers:
        raise ValueError("layers: the model has no LIFSequence layer to time")
    dtype = torch.float32
    fused = dispatch.pick(fused_backend, device, dtype)
    if fused == "reference" or (fused == "triton" and device.type == "cpu"):
        # Triton on a CPU runs under its interpreter: a correctness tool, not a kernel worth timing.
        raise ValueError(f"fused_backend: {fused_backend!r} resolves to {fused!r} on {device}; there is no "
                         "compiled kernel here to compare with the loop (build fastlif._C)")
    runner = dispatch.runner(fused)
    fused_s = _time_layers(layers, device, lambda l: (lambda x: runner(x, None, l.cfg, False)), budget_s)
    reference_s = _time_layers(layers, device, _reference_fn, budget_s)
    compiled_s, why = compiled_reference_seconds(layers, device, compile_budget_s, budget_s)
    return LifSpeed(list(layers), fused, fused_s, reference_s, compiled_s, why)


def format_speed(speed: LifSpeed) -> str:
    """The demo's kernel line(s): milliseconds per training step's LIF work and the speed-up of the fused kernel."""
    shapes = ", ".join("[" + ", ".join(map(str, l.shape)) + "]" for l in speed.layers)
    lines = [f"LIF layers of this model ({len(speed.layers)}: {shapes}), forward+backward per batch:",
             f"  fused {speed.fused_backend} kernel {1e3 * speed.fused_s:8.2f} ms",
             f"  reference loop     {1e3 * speed.reference_s:8.2f} ms  (fused is "
             f"{speed.reference_s / speed.fused_s:.1f}x faster)"]
    if speed.compiled_s is not None:
        lines.append(f"  torch.compile(loop) {1e3 * speed.compiled_s:7.2f} ms  (fused is "
                     f"{speed.compiled_s / speed.fused_s:.1f}x faster)")
    else:
        lines.append(f"  torch.compile(loop): {speed.compiled_skipped}")
    return "\n".join(lines)


def model_lif_layers(model: nn.Module, sample: torch.Tensor, T: int, event: bool) -> List[LifLayer]:
    """The LIF layers of ``model`` on a training batch ``sample`` run for ``T`` steps (a copy: BN statistics and
    any stateful neuron of the original stay untouched)."""
    from ..train.batches import forward_at
    twin = copy.deepcopy(model)
    return lif_layers(twin, lambda: forward_at(twin, sample, T, event))
