"""SLT latency draws (SPEC §5): uniform over 1..T, one seeded stream per epoch, the same on every rank."""
import pytest
import torch

from fastlif.train.latency import LatencySampler, mix_seed


def draws(sampler, epoch, n):
    sampler.start_epoch(epoch)
    return [sampler.draw() for _ in range(n)]


def test_fixed_latency_is_always_T():
    assert set(draws(LatencySampler("fixed", 5, seed=3), 0, 50)) == {5}


def test_slt_draws_cover_1_to_T_uniformly():
    T, n = 6, 6000
    seq = draws(LatencySampler("slt", T, seed=0), 0, n)
    counts = torch.bincount(torch.tensor(seq), minlength=T + 1)
    assert counts[0] == 0 and counts.sum() == n and len(counts) == T + 1  # only 1..T
    expected = n / T
    chi2 = float(((counts[1:].double() - expected) ** 2 / expected).sum())
    assert chi2 < 20.5  # chi-square, 5 degrees of freedom, p = 0.001
    assert abs(sum(seq) / n - (T + 1) / 2) < 0.1  # expected latency (T+1)/2


def test_two_ranks_draw_the_same_sequence():
    """Ranks build their own sampler from the shared run seed: no communication, identical draws."""
    rank0, rank1 = LatencySampler("slt", 8, seed=42), LatencySampler("slt", 8, seed=42)
    for epoch in (0, 1, 7):
        assert draws(rank0, epoch, 100) == draws(rank1, epoch, 100)


def test_epochs_and_seeds_give_different_streams_and_restarts_repeat():
    s = LatencySampler("slt", 8, seed=1)
    e0, e1 = draws(s, 0, 64), draws(s, 1, 64)
    assert e0 != e1
    assert draws(s, 0, 64) == e0  # resuming at an epoch replays it exactly
    assert draws(LatencySampler("slt", 8, seed=2), 0, 64) != e0
    assert mix_seed(0, 1) != mix_seed(1, 0) and 0 <= mix_seed(2 ** 40, 3) < 2 ** 63


def test_bad_arguments():
    with pytest.raises(ValueError, match="latency"):
        LatencySampler("random", 4, 0)
    with pytest.raises(ValueError, match="T"):
        LatencySampler("slt", 0, 0)
