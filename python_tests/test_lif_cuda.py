"""The CUDA kernel (csrc/cuda/lif_cuda.cu) against the reference twin (fastlif/reference.py) run on the same GPU.

Skipped without a CUDA device only: on a machine with one, a fastlif._C built without CUDA is a failure, not a
skip. The kernels' indexing and storage are also checked without a GPU by the ctest csrc/tests/test_lif_cuda_host.cu.
"""
import pytest
import torch

import fastlif
from fastlif import dispatch, reference
from fastlif.config import state_dtype
from lif_testing import DTYPES, GRAD_RTOL, OPTIONS, assert_close_rel, assert_matches_reference

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")

DEV = "cuda"
# Neuron counts that reach both kernel paths: one neuron per thread (small or ragged N) and 16-byte vectors
# (N a multiple of 8 with at least 2^15 vectors — csrc/cuda/lif_cuda_kernels.cuh, kMinVectorThreads).
SMALL_N, VECTOR_N = 1001, 1 << 18


def inputs(shape, dtype, seed, with_v_init=True):
    g = torch.Generator(device=DEV).manual_seed(seed)
    x = (torch.randn(shape, generator=g, device=DEV, dtype=torch.float64) * 1.2 + 0.4).to(dtype)
    v = torch.randn(shape[1:], generator=g, device=DEV, dtype=torch.float64).to(state_dtype(dtype))
    gs, gh = (torch.randn(shape, generator=g, device=DEV, dtype=torch.float64) for _ in range(2))
    gu = torch.randn(shape[1:], generator=g, device=DEV, dtype=torch.float64)
    return x, (v if with_v_init else None), gs, gh, gu


def check_against_reference(x, v_init, gs, gh, gu, decay, threshold, v_reset, option):
    assert_matches_reference("cuda", x, v_init, gs, gh, gu, decay, threshold, v_reset, option)


def test_backend_is_available_and_auto_picks_it():
    assert fastlif.ops.built_with_cuda(), "fastlif._C was built without CUDA on a machine with a GPU"
    assert "cuda" in fastlif.backends()
    assert dispatch.pick("auto", torch.device(DEV)) == "cuda"


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("option", OPTIONS, ids=lambda o: f"{o['reset']}-{'detach' if o['detach_reset'] else 'keep'}-"
                                                          f"{o['surrogate'].name}")
@pytest.mark.parametrize("shape", [(7, 3, SMALL_N // 3), (5, VECTOR_N)], ids=["scalar_path", "vector_path"])
def test_matches_reference_every_option(dtype, option, shape):
    """Every reset × detach × surrogate × dtype on both kernel paths, with v_init, T not a multiple of the
    kernel's unroll (4)."""
    x, v, gs, gh, gu = inputs(shape, dtype, seed=OPTIONS.index(option))
    check_against_reference(x, v, gs, gh, gu, 0.75, 1.0, -0.2, option)


@pytest.mark.parametrize("dtype", DTYPES, ids=str)
@pytest.mark.parametrize("n", [1, 5, SMALL_N, VECTOR_N, VECTOR_N + 8, VECTOR_N + 3])
@pytest.mark.parametrize("with_v_init", [False, True])
def test_matches_reference_both_kernel_paths(dtype, n, with_v_init):
    """Scalar path (small / ragged N) and vector path (N multiple of 8, large), T = 1 and T = 6."""
    for T in (1, 6):
        x, v, gs, gh, gu = inputs((T, n), dtype, seed=n + T, with_v_init=with_v_init)
        check_against_reference(x, v, gs, gh, gu, 0.5, 1.0, 0.0, OPTIONS[0])


@pytest.mark.parametrize("decay,threshold,v_reset", [(0.0, 0.3, 0.0), (1.0, 1.7, -0.2), (0.9, 0.5, 0.1)])
def test_matches_reference_other_scalars(decay, threshold, v_reset):
    x, v, gs, gh, gu = inputs((9, 64, 33), torch.float32, seed=3)
    for option in (OPTIONS[0], OPTIONS[-1]):
        check_against_reference(x, v, gs, gh, gu, decay, threshold, v_reset, option)


@pytest.mark.parametrize("layout", ["sliced", "channels_last", "misaligned", "time_slice"])
@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_non_contiguous_and_misaligned_inputs(layout, dtype):
    """Strided views and a storage offset of one element (no 16-byte vectors possible) give the same result."""
    x = (torch.randn(5, 4, 64, 1024, device=DEV) + 0.5).to(dtype)
    if layout == "sliced":
        view = torch.repeat_interleave(x, 2, dim=-1)[..., ::2]
    elif layout == "channels_last":
        view = x.contiguous(memory_format=torch.channels_last)
    elif layout == "misaligned":
        flat = torch.empty(x.numel() + 1, device=DEV, dtype=dtype)
        view = flat[1:].view(x.shape)
        view.copy_(x)
    else:  # a slice along T of a longer sequence starts at a row offset
        longer = torch.cat([torch.zeros_like(x[:1]), x])
        view = longer[1:]
    assert torch.equal(view, x)
    xa, xb = x.clone().requires_grad_(), view.detach().requires_grad_()
    sa, ha, ua = fastlif.lif_sequence(xa, return_state=True, backend="cuda")
    sb, hb, ub = fastlif.lif_sequence(xb, return_state=True, backend="cuda")
    gs = torch.randn_like(sa)
    (sa * gs).sum().backward()
    (sb * gs).sum().backward()
    assert torch.equal(sa, sb) and torch.equal(ha, hb) and torch.equal(ua, ub)
    assert torch.equal(xa.grad, xb.grad)
    assert torch.equal(sa, reference.lif_sequence(x))


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_backward_sees_the_forward_spikes(dtype):
    """Membranes a fraction of an fp16/bf16 ulp from the threshold round onto the wrong side unless the stored
    value is corrected; the saved h must still reproduce every spike, and such cases must actually occur here."""
    n = 1 << 16
    g = torch.Generator(device=DEV).manual_seed(5)
    x = torch.full((1, n), 0.5, device=DEV, dtype=dtype)
    # h = 0.5·v + 0.5 lands within ±2^-11 of the threshold 1: inside one bf16/fp16 rounding step of it.
    v = 1.0 + (torch.rand(n, generator=g, device=DEV) - 0.5) * 2.0 ** -9
    s, h, _ = fastlif.lif_sequence(x, v_init=v, return_state=True, backend="cuda")
    h_exact = 0.5 * v + 0.5
    assert torch.equal(s.bool()[0], h_exact > 1.0)
    assert torch.equal(h.float() > 1.0, s.bool())
    rounded_across = (h_exact.to(dtype).float() > 1.0) != (h_exact > 1.0)
    assert rounded_across.sum() > 100, "the test no longer produces membranes that round across the threshold"


@pytest.mark.parametrize("dtype", [torch.float16, torch.bfloat16], ids=str)
def test_v_init_in_the_input_dtype(dtype):
    """v_init may come in x's dtype; it then acts as its fp32 value, and its gradient comes back in that dtype."""
    x = (torch.randn(5, 2048, device=DEV) + 0.5).to(dtype)
    v_low = torch.randn(2048, device=DEV).to(dtype).requires_grad_()
    v_acc = v_low.detach().float().requires_grad_()
    s_low = fastlif.lif_sequence(x, v_init=v_low, backend="cuda")
    s_acc = fastlif.lif_sequence(x, v_init=v_acc, backend="cuda")
    assert torch.equal(s_low, s_acc)
    gs = torch.randn_like(s_low)
    (g_low,) = torch.autograd.grad(s_low, v_low, gs)
    (g_acc,) = torch.autograd.grad(s_acc, v_acc, gs)
    assert g_low.dtype == dtype
    assert torch.equal(g_low, g_acc.to(dtype))


def test_runs_on_the_current_stream():
    """The kernel is enqueued on PyTorch's current stream: work queued before it on a side stream is seen."""
    x = torch.randn(8, VECTOR_N, device=DEV) + 0.5
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        y = x * 2.0  # queued on `side` just before the LIF kernel on the same stream
        s = fastlif.lif_sequence(y, backend="cuda")
    torch.cuda.current_stream().wait_stream(side)
    assert torch.equal(s, reference.lif_sequence(x * 2.0))


def test_runs_on_the_tensors_device():
    """Tensors on the last visible GPU run there (the binding sets the device guard from the tensor)."""
    dev = torch.device(DEV, torch.cuda.device_count() - 1)
    x = torch.randn(6, 513, device=dev) + 0.5
    s = fastlif.lif_sequence(x, backend="cuda")
    assert s.device == dev
    assert torch.equal(s, reference.lif_sequence(x))


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=str)
def test_torch_compile_fullgraph(dtype):
    """The op traces under torch.compile(fullgraph=True) and gives eager's spikes and gradients."""
    def layer(x, w):
        return fastlif.lif_sequence(x * w, surrogate="atan", backend="cuda").float().mean(0)

    x = (torch.randn(6, 2, 4096, device=DEV) + 0.6).to(dtype)
    w = torch.ones(4096, device=DEV, dtype=dtype, requires_grad=True)
    eager = layer(x, w)
    (gw_eager,) = torch.autograd.grad(eager.sum(), w)
    compiled = torch.compile(layer, fullgraph=True)
    out = compiled(x, w)
    (gw,) = torch.autograd.grad(out.sum(), w)
    assert torch.equal(out, eager)
    assert_close_rel(gw, gw_eager, GRAD_RTOL[dtype], "compiled grad")


@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_opcheck(dtype):
    x = torch.randn(5, 1024, device=DEV).to(dtype)
    v = torch.randn(1024, device=DEV)
    args = (x.requires_grad_(), v, 0.5, 1.0, 0.0, 0, 2, 4.0, False, True, True)
    torch.library.opcheck(torch.ops.fastlif.lif_forward.default, args)
    h = torch.randn(5, 1024, device=DEV).to(dtype)
    grads = (torch.randn(5, 1024, device=DEV).to(dtype), torch.randn(5, 1024, device=DEV).to(dtype),
             torch.randn(1024, device=DEV))
    # The CUDA backward reads the saved h (x = None); grad_s missing is the one input it materialises.
    for g in (grads, (None, grads[1], None)):
        torch.library.opcheck(torch.ops.fastlif.lif_backward.default, (None, v, h, *g, 0.5, 1.0, 0.0, 1, 3, 2.0, True,
                                                                       True))
    # Per-neuron learnable parameters, the scaled-input charge (its rate gradient reads x as well as h), '>='.
    decay, threshold = torch.rand(1024, device=DEV) * 0.5 + 0.3, torch.rand(1024, device=DEV) + 0.5
    args = (x.detach().requires_grad_(), v, 0.5, 1.0, 0.0, 1, 2, 4.0, False, True, True,
            decay.requires_grad_(), threshold.requires_grad_(), 1, True)
    torch.library.opcheck(torch.ops.fastlif.lif_forward.default, args)
    torch.library.opcheck(torch.ops.fastlif.lif_backward.default,
                          (x.detach(), v, h, *grads, 0.5, 1.0, 0.0, 1, 2, 4.0, False, True, decay.detach(),
                           threshold.detach(), 1, True, True))


def test_module_on_gpu_matches_cpu_backend():
    """LIFSequence moved to the GPU gives the CPU kernel's spikes (both follow the same lif_math.h)."""
    x = torch.randn(8, 4, 300) + 0.6
    m = fastlif.LIFSequence(reset="soft", surrogate="superspike")
    s_gpu = m(x.to(DEV))
    s_cpu = fastlif.lif_sequence(x, reset="soft", surrogate="superspike", backend="cpu")
    assert torch.equal(s_gpu.cpu(), s_cpu)
