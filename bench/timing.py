"""Timing a callable: warm-up, an adaptive repetition count, and quantiles of the per-call times.

Each repetition is timed on its own so the quantiles show the spread (a busy shared CPU shows up as a wide
p20–p80 band). ``measure_many`` interleaves the repetitions of several callables, round after round, so that on a
machine shared with other jobs every contender sees the same load and their ratios stay fair. On CUDA the L2 cache
is flushed before every repetition, as triton.testing.do_bench does, so a tensor that fits in L2 is not timed at
cache bandwidth.
"""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Callable

import torch

QUANTILES = (0.2, 0.5, 0.8)


@dataclass(frozen=True)
class Timing:
    """Seconds per call at the 20th, 50th and 80th percentile over ``reps`` timed calls."""
    p20: float
    median: float
    p80: float
    reps: int


def _quantile(sorted_times: list[float], q: float) -> float:
    pos = q * (len(sorted_times) - 1)
    lo = int(pos)
    hi = min(lo + 1, len(sorted_times) - 1)
    return sorted_times[lo] + (sorted_times[hi] - sorted_times[lo]) * (pos - lo)


class Timer:
    """Times callables on one device within a time budget per measurement."""

    def __init__(self, device: torch.device, *, budget_s: float = 1.0, min_reps: int = 5, max_reps: int = 100,
                 warmup: int = 1):
        if budget_s <= 0:
            raise ValueError(f"budget_s must be > 0, got {budget_s}")
        if min_reps < 1 or max_reps < min_reps:
            raise ValueError(f"need 1 <= min_reps <= max_reps, got min_reps={min_reps}, max_reps={max_reps}")
        self.device = device
        self.budget_s = budget_s
        self.min_reps = min_reps
        self.max_reps = max_reps
        self.warmup = warmup
        self._l2 = None
        if device.type == "cuda":
            self._l2 = torch.empty(256 * 2**20, dtype=torch.int8, device=device)

    def _once(self, fn: Callable[[], object], setup: Callable[[], object] | None) -> float:
        if setup is not None:
            setup()
        if self.device.type == "cuda":
            self._l2.zero_()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
            fn()
            end.record()
            torch.cuda.synchronize(self.device)
            return start.elapsed_time(end) / 1e3
        t0 = time.perf_counter()
        fn()
        return time.perf_counter() - t0

    def measure(self, fn: Callable[[], object], setup: Callable[[], object] | None = None) -> Timing:
        """Time ``fn()``; ``setup()`` runs before each call, outside the timed window."""
        return self.measure_many([(fn, setup)])[0]

    def measure_many(self, calls: list[tuple[Callable[[], object], Callable[[], object] | None]]) -> list[Timing]:
        """Time each ``(fn, setup)`` pair, interleaved: round r calls every pair that still needs an r-th time.

        Each pair gets its own repetition count from its first timed call (``budget_s`` worth, clamped to
        [min_reps, max_reps]), so a slow contender does not force hundreds of calls on a fast one.
        """
        for fn, setup in calls:
            for _ in range(self.warmup):
                self._once(fn, setup)
        times = [[self._once(fn, setup)] for fn, setup in calls]
        reps = [int(min(self.max_reps, max(self.min_reps, self.budget_s / max(t[0], 1e-9)))) for t in times]
        for r in range(1, max(reps, default=0)):
            for i, (fn, setup) in enumerate(calls):
                if r < reps[i]:
                    times[i].append(self._once(fn, setup))
        out = []
        for t in times:
            t.sort()
            out.append(Timing(*(_quantile(t, q) for q in QUANTILES), reps=len(t)))
        return out
