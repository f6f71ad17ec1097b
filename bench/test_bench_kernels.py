"""The kernel benchmark's quick cases through pytest-benchmark: ``pytest bench/ --benchmark-only``.

Same providers, inputs and modes as ``python -m bench.run --quick``; pytest-benchmark does the timing and the
statistics, and each result carries the SPEC §9 bytes and effective GB/s in its extra_info.
"""
from __future__ import annotations

import pytest
import torch

from bench import kernels, providers, run

DEVICE = torch.device("cuda" if torch.cuda.is_available() else "cpu")
SYNC = torch.cuda.synchronize if DEVICE.type == "cuda" else (lambda: None)  # time the work, not its launch
GRID = run.defaults(DEVICE, quick=True)
CASES = [(T, N) for N in GRID["N"] for T in GRID["T"]]


@pytest.mark.parametrize("mode", GRID["modes"])
@pytest.mark.parametrize("T,N", CASES, ids=[f"T{T}-N{N}" for T, N in CASES])
@pytest.mark.parametrize("provider", providers.all_providers(DEVICE), ids=lambda p: p.name)
def test_lif(benchmark, provider, T, N, mode):
    reason = provider.unavailable(DEVICE)
    if reason:
        pytest.skip(f"{provider.name}: {reason}")
    case = providers.Case(T, N, torch.float32, DEVICE)
    fn = provider.build(case)
    x = kernels.make_input(case)
    with provider.context():
        setup, call = kernels.mode_calls(fn, x, mode)
        benchmark.pedantic(lambda: (call(), SYNC()), setup=setup, rounds=5, warmup_rounds=1)
    nbytes = kernels.model_bytes(case, mode)
    benchmark.extra_info.update(model_bytes=nbytes, eff_gbps=nbytes / benchmark.stats.stats.median / 1e9,
                                neuron_steps_per_s=T * N / benchmark.stats.stats.median)


@pytest.mark.parametrize("mode", GRID["modes"])
@pytest.mark.parametrize("T,N", CASES, ids=[f"T{T}-N{N}" for T, N in CASES])
@pytest.mark.parametrize("floor", kernels.FLOORS)
def test_copy(benchmark, floor, T, N, mode):
    """The bandwidth floors: device copies reading and writing the bytes the LIF op moves in ``mode``, into a
    destination allocated once or into fresh ones, as the op's outputs are (bench.kernels.copy_calls)."""
    case = providers.Case(T, N, torch.float32, DEVICE)
    nbytes = kernels.model_bytes(case, mode)
    call = kernels.copy_calls(case, mode)[floor]
    benchmark.pedantic(lambda: (call(), SYNC()), rounds=20, warmup_rounds=1)
    benchmark.extra_info.update(model_bytes=nbytes, eff_gbps=nbytes / benchmark.stats.stats.median / 1e9)
