"""The CPU kernels (csrc/cpu/lif_cpu_kernels.h, dispatched by lif_cpu.cpp) against the reference twin."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

import fastlif
from fastlif import reference
from fastlif import surrogate as sg
from fastlif.config import state_dtype
from lif_testing import DTYPES, OPTIONS, SURROGATES, assert_matches_reference

pytestmark = pytest.mark.skipif("cpu" not in fastlif.backends(), reason="fastlif._C is not built")


def layouts(x, kind):
    if kind == "sliced":  # a non-contiguous view with the same values
        big = torch.repeat_interleave(x, 2, dim=-1)
        return big[..., ::2]
    if kind == "channels_last" and x.dim() == 4:
        return x.contiguous(memory_format=torch.channels_last)
    return x


@settings(max_examples=80, deadline=None)
@given(T=st.integers(1, 40),
       trailing=st.lists(st.integers(1, 7), min_size=0, max_size=4),
       dtype=st.sampled_from(DTYPES),
       option=st.sampled_from(OPTIONS),
       decay=st.sampled_from([0.0, 0.25, 0.5, 0.9, 1.0]),
       threshold=st.sampled_from([0.3, 1.0, 1.7]),
       v_reset=st.sampled_from([0.0, -0.2]),
       with_v_init=st.booleans(),
       layout=st.sampled_from(["contiguous", "sliced", "channels_last"]),
       seed=st.integers(0, 2**16))
def test_cpu_matches_reference(T, trailing, dtype, option, decay, threshold, v_reset, with_v_init, layout, seed):
    g = torch.Generator().manual_seed(seed)
    shape = (T, *trailing)
    x = layouts((torch.randn(shape, generator=g, dtype=torch.float64) * 1.2 + 0.4).to(dtype), layout)
    acc = state_dtype(dtype)
    v_init = torch.randn(shape[1:], generator=g, dtype=torch.float64).to(acc) if with_v_init else None
    gs, gh = torch.randn(shape, generator=g, dtype=torch.float64), torch.randn(shape, generator=g, dtype=torch.float64)
    gu = torch.randn(shape[1:], generator=g, dtype=torch.float64)
    assert_matches_reference("cpu", x, v_init, gs, gh, gu, decay, threshold, v_reset, option)


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_gradcheck_membrane_path_fp64(surrogate, reset):
    """fp64 gradcheck of (x, v_init) → (h, u_final) with the reset detached: there the surrogate only meets the
    spike output, so the kernel's BPTT must equal the true derivative. Inputs stay away from the threshold."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(6, 5, generator=g, dtype=torch.float64) * 0.4 - 0.2
    x[2, :2] = 1.6  # some neurons fire, well above the threshold
    v = (torch.rand(5, generator=g, dtype=torch.float64) * 0.2).requires_grad_()
    x.requires_grad_()

    def f(x, v):
        _, h, u = fastlif.lif_sequence(x, v_init=v, surrogate=surrogate, reset=reset, detach_reset=True,
                                       return_state=True, backend="cpu")
        return h, u

    assert torch.autograd.gradcheck(f, (x, v))


@pytest.mark.parametrize("surrogate", [sg.Triangle(0.8), sg.Rectangle(1.2), sg.Sigmoid(8.0)], ids=lambda s: s.name)
@pytest.mark.parametrize("reset", ["hard", "soft"])
@pytest.mark.parametrize("detach_reset", [False, True])
def test_gradcheck_all_outputs_fp64(surrogate, reset, detach_reset):
    """fp64 gradcheck of every output, with membranes far enough from the threshold that sg vanishes (triangle and
    rectangle exactly, sigmoid below 1e-10): the surrogate, reset-gradient and BPTT terms must then all agree with
    finite differences."""
    g = torch.Generator().manual_seed(2)
    x = torch.rand(5, 4, generator=g, dtype=torch.float64) * 0.2 - 8.0
    x[1, :2] = 12.0
    x.requires_grad_()

    def f(x):
        return fastlif.lif_sequence(x, surrogate=surrogate, reset=reset, detach_reset=detach_reset,
                                    return_state=True, backend="cpu")

    assert torch.autograd.gradcheck(f, (x,))


@pytest.mark.parametrize("dtype", DTYPES)
def test_chunks_continue_exactly(dtype):
    """T1 steps, then T2 steps from the carried state, equal T1+T2 steps at once — spikes and gradients."""
    x = (torch.randn(11, 3, 17, dtype=torch.float64) + 0.5).to(dtype)
    xa = x.clone().requires_grad_()
    s_all, _, u_all = fastlif.lif_sequence(xa, return_state=True, backend="cpu")
    s_all.float().sum().backward()
    xb = x.clone().requires_grad_()
    s1, _, u1 = fastlif.lif_sequence(xb[:4], return_state=True, backend="cpu")
    s2, _, u2 = fastlif.lif_sequence(xb[4:], v_init=u1, return_state=True, backend="cpu")
    (s1.float().sum() + s2.float().sum()).backward()
    assert torch.equal(torch.cat([s1, s2]), s_all)
    assert torch.equal(u2, u_all)
    assert torch.equal(xb.grad, xa.grad)


def test_stateful_module_carries_state_and_resets():
    x = torch.randn(8, 2, 9) + 0.6
    m = fastlif.LIFSequence(stateful=True, backend="cpu")
    whole = fastlif.lif_sequence(x, backend="cpu")
    assert torch.equal(torch.cat([m(x[:3]), m(x[3:])]), whole)
    fastlif.reset_net(torch.nn.Sequential(m))
    assert m.state is None
    assert torch.equal(m(x), whole)


def test_empty_and_single_neuron():
    for shape in [(3, 0), (1, 1), (5, 2, 0, 4)]:
        x = torch.randn(shape, requires_grad=True)
        s, h, u = fastlif.lif_sequence(x, return_state=True, backend="cpu")
        s.sum().backward()
        assert s.shape == x.shape and h.shape == x.shape and u.shape == x.shape[1:]
        assert x.grad.shape == x.shape


def test_backward_is_deterministic():
    x = torch.randn(16, 70_000, requires_grad=True)  # large enough to run the OpenMP path
    s = fastlif.lif_sequence(x, backend="cpu", surrogate="sigmoid")
    gs = torch.randn_like(s)
    (g1,) = torch.autograd.grad(s, x, gs, retain_graph=True)
    (g2,) = torch.autograd.grad(s, x, gs)
    assert torch.equal(g1, g2)
    assert g1.abs().sum() > 0


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16])
def test_opcheck(dtype):
    x = torch.randn(5, 3, 4).to(dtype)
    v = torch.randn(3, 4)
    for save_h, save_u in [(True, True), (False, False)]:
        args = (x.requires_grad_(), v, 0.5, 1.0, 0.0, 0, 2, 4.0, False, save_h, save_u)
        torch.library.opcheck(torch.ops.fastlif.lif_forward.default, args)
    g = torch.randn(5, 3, 4).to(dtype)
    recompute = (x.detach(), None, (g, None, None))                   # what the CPU backward runs: x, no h
    from_h = (None, x.detach(), (g, g.clone(), torch.randn(3, 4)))     # the stored-membrane path, every gradient
    for x_in, h_in, grads in (recompute, from_h):
        bargs = (x_in, v, h_in, *grads, 0.5, 1.0, 0.0, 1, 3, 2.0, True, True)
        torch.library.opcheck(torch.ops.fastlif.lif_backward.default, bargs)
