"""What every compiled twin (CPU, CUDA, Triton) must do the same way, written once and run on each one here:
fp64 gradchecks, chunked runs continuing exactly, empty and single-neuron inputs, a deterministic backward.
Backend-specific checks (ISA paths, vector paths, streams, interpreter details) stay in test_lif_<backend>.py."""
import pytest
import torch

import fastlif
from fastlif import reference
from fastlif import surrogate as sg
from lif_testing import BACKENDS, SURROGATES

# Triton computes in fp32 and rejects fp64 inputs, so the fp64 gradchecks run on the extension's kernels.
FP64_BACKENDS = [b for b in BACKENDS if b[0] != "triton"]
# Neurons per step for the determinism test: enough for the CPU kernel's OpenMP path and the CUDA kernel's
# vector path; the Triton interpreter is slow, and its kernel has no reduction that could reorder anyway.
DETERMINISM_N = {"cpu": 70_000, "cuda": 1 << 18, "triton": 3 * 7}


def _ids(pairs):
    return [b for b, _ in pairs]


def dtypes_of(backend):
    return (torch.float32, torch.float16, torch.bfloat16) + (() if backend == "triton" else (torch.float64,))


@pytest.mark.parametrize("twin", FP64_BACKENDS, ids=_ids(FP64_BACKENDS))
@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_gradcheck_membrane_path_fp64(twin, surrogate, reset):
    """fp64 gradcheck of (x, v_init) → (h, u_final) with the reset detached: there the surrogate only meets the
    spike output, so the kernel's BPTT must equal the true derivative. Inputs stay away from the threshold."""
    backend, device = twin
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 5, generator=g, dtype=torch.float64) * 0.4 - 0.2
    x[2, :2] = 1.6  # some neurons fire, well above the threshold
    v = (torch.rand(5, generator=g, dtype=torch.float64) * 0.2).to(device).requires_grad_()
    x = x.to(device).requires_grad_()

    def f(x, v):
        _, h, u = fastlif.lif_sequence(x, v_init=v, surrogate=surrogate, reset=reset, detach_reset=True,
                                       return_state=True, backend=backend)
        return h, u

    assert torch.autograd.gradcheck(f, (x, v))


@pytest.mark.parametrize("twin", FP64_BACKENDS, ids=_ids(FP64_BACKENDS))
@pytest.mark.parametrize("surrogate", [sg.Triangle(0.8), sg.Rectangle(1.2), sg.Sigmoid(8.0)], ids=lambda s: s.name)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_gradcheck_all_outputs_fp64(twin, surrogate, reset, detach_reset):
    """fp64 gradcheck of every output, with membranes far enough from the threshold that sg vanishes (triangle and
    rectangle exactly, sigmoid below 1e-10): the surrogate, reset-gradient and BPTT terms must then all agree with
    finite differences."""
    backend, device = twin
    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 4, generator=g, dtype=torch.float64) * 0.2 - 8.0
    x[1, :2] = 12.0
    x = x.to(device).requires_grad_()

    def f(x):
        return fastlif.lif_sequence(x, surrogate=surrogate, reset=reset, detach_reset=detach_reset,
                                    return_state=True, backend=backend)

    assert torch.autograd.gradcheck(f, (x,))


CHUNK_CASES = [(twin, dtype) for twin in BACKENDS for dtype in dtypes_of(twin[0])]


@pytest.mark.parametrize("twin, dtype", CHUNK_CASES, ids=[f"{b}-{str(d)[6:]}" for (b, _), d in CHUNK_CASES])
def test_chunks_continue_exactly(twin, dtype):
    """SPEC §1: T1 steps, then T2 steps from the carried state, equal T1 + T2 steps at once, bit for bit — spikes,
    membranes, final state and gradients (T2 = 11 also takes Triton's looped kernel, T1 = 3 its unrolled one)."""
    backend, device = twin
    x = (torch.randn(14, 3, 17, dtype=torch.float64) + 0.5).to(device=device, dtype=dtype)
    xa = x.clone().requires_grad_()
    s_all, h_all, u_all = fastlif.lif_sequence(xa, return_state=True, backend=backend, reset="soft")
    s_all.float().sum().backward()
    xb = x.clone().requires_grad_()
    s1, h1, u1 = fastlif.lif_sequence(xb[:3], return_state=True, backend=backend, reset="soft")
    s2, h2, u2 = fastlif.lif_sequence(xb[3:], v_init=u1, return_state=True, backend=backend, reset="soft")
    (s1.float().sum() + s2.float().sum()).backward()
    assert torch.equal(torch.cat([s1, s2]), s_all) and torch.equal(torch.cat([h1, h2]), h_all)
    assert torch.equal(u2, u_all)
    assert torch.equal(xb.grad, xa.grad)


@pytest.mark.parametrize("twin", BACKENDS, ids=_ids(BACKENDS))
def test_empty_and_single_neuron(twin):
    backend, device = twin
    for shape in [(3, 0), (1, 1), (5, 2, 0, 4), (3, 0, 2)]:
        x = torch.randn(shape, device=device, requires_grad=True)
        s, h, u = fastlif.lif_sequence(x, return_state=True, backend=backend)
        s.sum().backward()
        assert s.shape == x.shape and h.shape == x.shape and u.shape == x.shape[1:]
        assert x.grad.shape == x.shape and s.device == x.device
    assert torch.equal(s, reference.lif_sequence(x.detach()))


@pytest.mark.parametrize("twin", BACKENDS, ids=_ids(BACKENDS))
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_backward_is_deterministic(twin, dtype):
    """No atomics: repeating forward and backward gives bitwise the same outputs and gradients."""
    backend, device = twin
    n = DETERMINISM_N[backend]
    x = (torch.randn(16, n) + 0.4).to(device=device, dtype=dtype).requires_grad_()
    gs = torch.randn(16, n).to(device=device, dtype=dtype)
    runs = []
    for _ in range(3):
        s, h, u = fastlif.lif_sequence(x, return_state=True, backend=backend, surrogate="sigmoid")
        (g,) = torch.autograd.grad(s, x, gs)
        runs.append((s, h, u, g))
    for s, h, u, g in runs[1:]:
        assert torch.equal(s, runs[0][0]) and torch.equal(h, runs[0][1]) and torch.equal(u, runs[0][2])
        assert torch.equal(g, runs[0][3])
    assert runs[0][3].float().abs().sum() > 0
