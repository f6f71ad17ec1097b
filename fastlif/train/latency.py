"""Latency per mini-batch: fixed T, or SLT's t ~ Uniform{1..T} (Anumasa et al., AAAI 2024; SPEC §5).

The draws come from a private generator re-seeded at every epoch from ``(seed, epoch)`` alone. So every DDP rank,
which knows the same seed and epoch, draws the same t for the same mini-batch without any communication, and a
resumed run draws exactly what the uninterrupted one would have.
"""
from __future__ import annotations

import torch

from ..checks import check_int
from .config import LATENCIES


# Stream tags: mixed into a run's seed so each kind of random draw gets its own generator (changing a tag changes
# every run's draws, so they are fixed numbers, not enumerations).
LATENCY_STREAM = 0x51A7
AUGMENT_STREAM = 0xA06


def mix_seed(*parts: int) -> int:
    """A 63-bit seed from several small integers (splitmix64 steps), so nearby (seed, epoch) pairs are unrelated."""
    h = 0x9E3779B97F4A7C15
    for p in parts:
        h = (h ^ (int(p) & 0xFFFFFFFFFFFFFFFF)) * 0xBF58476D1CE4E5B9 & 0xFFFFFFFFFFFFFFFF
        h ^= h >> 31
    return h & 0x7FFFFFFFFFFFFFFF


class LatencySampler:
    """``draw()`` gives the number of time steps for the next mini-batch: ``T`` when fixed, else uniform in 1..T."""

    def __init__(self, mode: str, T: int, seed: int):
        if mode not in LATENCIES:
            raise ValueError(f"latency: expected one of {', '.join(LATENCIES)}, got {mode!r}")
        check_int("T", T)
        self.mode, self.T, self.seed = mode, T, int(seed)
        self._gen = torch.Generator()
        self.start_epoch(0)

    def start_epoch(self, epoch: int) -> None:
        """Re-seed for ``epoch`` (counted across TIT stages); a stream tag keeps it apart from other seeded draws."""
        self._gen.manual_seed(mix_seed(self.seed, epoch, LATENCY_STREAM))

    def draw(self) -> int:
        if self.mode == "fixed":
            return self.T
        return int(torch.randint(1, self.T + 1, (1,), generator=self._gen))
