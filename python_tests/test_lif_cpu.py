"""The CPU kernels (csrc/cpu/lif_cpu_kernels.h, dispatched by lif_cpu.cpp) against the reference twin."""
import pytest
import torch
from hypothesis import given, settings, strategies as st

import fastlif
from fastlif.config import state_dtype
from lif_testing import DTYPES, OPTIONS, assert_matches_reference

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


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_streamed_outputs_match_reference(dtype):
    """Outputs of >= 16 MiB leave the forward through non-temporal stores (csrc/cpu/stream_store.h); N is odd so
    the rows start unaligned and the copied head and tail of each row are exercised too."""
    T, N = 8, (16 << 20) // (8 * dtype.itemsize) + 3
    g = torch.Generator().manual_seed(7)
    x = (torch.randn(T, N, generator=g) * 1.2 + 0.4).to(dtype)
    v_init = torch.randn(N, generator=g)
    gs, gh, gu = torch.randn(T, N, generator=g), torch.randn(T, N, generator=g), torch.randn(N, generator=g)
    assert_matches_reference("cpu", x, v_init, gs, gh, gu, 0.5, 1.0, 0.0, OPTIONS[-1])


def test_stateful_module_carries_state_and_resets():
    x = torch.randn(8, 2, 9) + 0.6
    m = fastlif.LIFSequence(stateful=True, backend="cpu")
    whole = fastlif.lif_sequence(x, backend="cpu")
    assert torch.equal(torch.cat([m(x[:3]), m(x[3:])]), whole)
    fastlif.reset_net(torch.nn.Sequential(m))
    assert m.state is None
    assert torch.equal(m(x), whole)


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
    # Per-neuron parameters (learnable), the scaled-input charge and '>=' firing, forward and backward.
    decay, threshold = torch.rand(3, 4) * 0.5 + 0.3, torch.rand(3, 4) + 0.5
    args = (x.detach().requires_grad_(), v, 0.5, 1.0, 0.0, 1, 2, 4.0, False, False, True,
            decay.requires_grad_(), threshold.requires_grad_(), 1, True)
    torch.library.opcheck(torch.ops.fastlif.lif_forward.default, args)
    bargs = (x.detach(), v, None, g, None, None, 0.5, 1.0, 0.0, 1, 2, 4.0, False, True, decay.detach(),
             threshold.detach(), 1, True, True)
    torch.library.opcheck(torch.ops.fastlif.lif_backward.default, bargs)
