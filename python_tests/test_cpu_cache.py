"""The CPU output cache (fastlif.cpu_cache, csrc/cpu_output_cache.cpp): outputs of 1 MiB and more reuse the memory
of dead outputs of the same size; reused memory holds stale values, so every element of every output must still
be written (checked against the reference); the limit bounds what is held; the environment variable is checked."""
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest
import torch

import fastlif
from fastlif import cpu_cache
from fastlif.config import LifConfig

# [T, N] fp32 with N odd: 3 × 1.6 MB outputs (cached), rows not 64-byte aligned.
T, N = 3, 400_001
CFG = dict(surrogate="sigmoid", reset="soft")


@pytest.fixture
def cache_mib():
    """Sets the limit (MiB) for one test; the previous limit comes back afterwards and the idle blocks are freed."""
    before = cpu_cache.info()["limit_bytes"] >> 20

    def set_to(mib):
        cpu_cache.set_limit(mib)
    yield set_to
    cpu_cache.set_limit(before)
    cpu_cache.empty()


def _x(seed, shape=(T, N)):
    return (torch.randn(*shape, generator=torch.Generator().manual_seed(seed)) * 0.8 + 0.5).requires_grad_()


def _check_against_reference(x):
    """Forward with state, backward with gradients on s, h and u_final: every output the kernels write, compared."""
    v = torch.randn(x.shape[1:], generator=torch.Generator().manual_seed(7), dtype=torch.float32)
    outs = fastlif.lif_sequence(x, v_init=v, backend="cpu", return_state=True, **CFG)
    x_ref = x.detach().clone().requires_grad_()
    refs = fastlif.lif_sequence(x_ref, v_init=v, backend="reference", return_state=True, **CFG)
    grads = [torch.randn_like(o) for o in outs]
    (gx,) = torch.autograd.grad(outs, x, grads)
    (gx_ref,) = torch.autograd.grad(refs, x_ref, grads)
    assert torch.equal(outs[0], refs[0])
    for out, ref in zip(outs[1:] + (gx,), refs[1:] + (gx_ref,)):
        torch.testing.assert_close(out, ref, rtol=1e-5, atol=1e-5)
    assert outs[0].stride() == outs[1].stride() == gx.stride() == x.stride()


def test_second_call_reuses_the_first_calls_memory_and_is_still_exact(cache_mib):
    cache_mib(64)
    cpu_cache.empty()
    x = _x(0)
    first = fastlif.lif_sequence(x, backend="cpu", **CFG)
    ptr = first.data_ptr()
    hits = cpu_cache.info()["hits"]
    del first
    assert cpu_cache.info()["idle_bytes"] >= T * N * 4
    # Stale spikes of another input lie in the reused block: the second result must not depend on them.
    second = fastlif.lif_sequence(_x(1), backend="cpu", **CFG)
    assert second.data_ptr() == ptr and cpu_cache.info()["hits"] == hits + 1
    ref = fastlif.lif_sequence(_x(1), backend="reference", **CFG)
    assert torch.equal(second, ref)
    for seed in (2, 3):  # every output reused, with stale values from the call before
        _check_against_reference(_x(seed))


def test_layouts_are_kept_with_cached_memory(cache_mib):
    cache_mib(64)
    x = _x(4, (2, 8, 257, 130)).detach()
    x = x.contiguous(memory_format=torch.channels_last).requires_grad_()  # time outermost, channels innermost
    assert x.numel() * 4 >= 1 << 20
    for _ in range(2):
        s = fastlif.lif_sequence(x, backend="cpu", **CFG)
        assert s.stride() == x.stride()
        assert torch.equal(s, fastlif.lif_sequence(x.detach(), backend="reference", **CFG))
        del s


def test_limit_zero_caches_nothing_and_results_are_unchanged(cache_mib):
    cache_mib(0)
    before = cpu_cache.info()
    _check_against_reference(_x(5))
    after = cpu_cache.info()
    assert after["idle_bytes"] == 0 and after["limit_bytes"] == 0
    assert (after["hits"], after["misses"]) == (before["hits"], before["misses"])


def test_idle_memory_stays_under_the_limit_and_empty_releases_it(cache_mib):
    cache_mib(4)  # each output (T·N·4 = 4.8 MB) takes a block of 6 MiB (whole 2 MiB pages): none is kept
    outputs = [fastlif.lif_sequence(_x(s), backend="cpu", **CFG) for s in range(3)]
    del outputs
    assert cpu_cache.info()["idle_bytes"] == 0
    cache_mib(16)  # two blocks of 6 MiB fit, the third does not: the oldest is released
    outputs = [fastlif.lif_sequence(_x(s), backend="cpu", **CFG) for s in range(3)]
    del outputs
    assert cpu_cache.info()["idle_bytes"] == 12 << 20
    cache_mib(8)  # lowering the limit releases down to it
    assert cpu_cache.info()["idle_bytes"] == 6 << 20
    cpu_cache.empty()
    assert cpu_cache.info()["idle_bytes"] == 0


def test_small_outputs_do_not_use_the_cache(cache_mib):
    cache_mib(64)
    before = cpu_cache.info()
    x = _x(6, (4, 1000))
    fastlif.lif_sequence(x, backend="cpu", **CFG).sum().backward()
    after = cpu_cache.info()
    assert (after["hits"], after["misses"]) == (before["hits"], before["misses"])


def test_cached_outputs_live_on_after_empty_and_resize(cache_mib):
    cache_mib(64)
    s = fastlif.lif_sequence(_x(8).detach(), backend="cpu", **CFG)
    kept = s.clone()
    cpu_cache.empty()
    assert torch.equal(s, kept)
    s.resize_(2 * T * N)  # a storage of ours grows through the same allocator
    s[T * N:] = 3.0
    assert torch.equal(s[:T * N].view(T, N), kept) and bool((s[T * N:] == 3.0).all())


def test_threads_sharing_the_cache_get_their_own_results(cache_mib):
    cache_mib(64)
    xs = [_x(10 + i).detach() for i in range(4)]
    refs = [fastlif.lif_sequence(x, backend="reference", **CFG) for x in xs]

    def work(i):
        return all(torch.equal(fastlif.lif_sequence(xs[i], backend="cpu", **CFG), refs[i]) for _ in range(5))
    with ThreadPoolExecutor(4) as pool:
        assert all(pool.map(work, range(4)))


def test_benchmark_headers_name_the_limit(cache_mib):
    from fastlif.machine import describe
    cache_mib(48)
    assert describe(torch.device("cpu")).endswith(", output cache 48 MiB")


def test_set_limit_rejects_bad_values():
    for bad in (-1, 1.5, True, "8"):
        with pytest.raises(ValueError, match="mib must be an int >= 0"):
            cpu_cache.set_limit(bad)


def _child(env_value: str) -> subprocess.CompletedProcess:
    code = ("import torch, fastlif; from fastlif import cpu_cache; "
            "fastlif.lif_sequence(torch.rand(2, 1 << 19), backend='cpu'); print(cpu_cache.info()['limit_bytes'])")
    env = dict(os.environ, FASTLIF_CPU_CACHE_MIB=env_value)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


def test_limit_from_the_environment():
    done = _child("3")
    assert done.returncode == 0, done.stderr
    assert int(done.stdout.split()[-1]) == 3 << 20
    bad = _child("lots")
    assert bad.returncode != 0 and "FASTLIF_CPU_CACHE_MIB must be a whole number of MiB >= 0, got 'lots'" in bad.stderr
