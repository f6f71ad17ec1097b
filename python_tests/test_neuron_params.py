"""Per-neuron and learnable decay/threshold, and the peers' equations (scaled input, '>=' firing, snnTorch's
delayed subtract reset), on every twin: the kernels' per-neuron parameter gradients against the reference's
autograd and against finite differences (fp64), spikes bit-equal to the reference, shapes that broadcast to one
step, and a clear error where a shape does not fit."""
import math

import pytest
import torch
from hypothesis import given, settings, strategies as st

import fastlif
from fastlif import reference
from fastlif import surrogate as sg
from lif_testing import BACKENDS, OpLog, recomputes_membrane

# Triton computes in fp32 and rejects fp64 inputs: the fp64 checks run on the extension's kernels.
FP64_BACKENDS = [b for b in BACKENDS if b[0] != "triton"]
EQUATIONS = [
    dict(reset="hard"),
    dict(reset="soft", fire_ge=True),
    dict(reset="subtract_next"),
    dict(reset="hard", decay_input=True, fire_ge=True),
    dict(reset="soft", decay_input=True),
]


def _ids(pairs):
    return [b for b, _ in pairs]


def _eq_id(eq):
    return "-".join(f"{k}={v}" for k, v in eq.items())


def _inputs(device, dtype=torch.float64, shape=(7, 3, 4, 5), seed=0):
    g = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=g, dtype=torch.float64) * 0.8 + 0.45).to(device, dtype)
    v = (torch.rand(shape[1:], generator=g, dtype=torch.float64) * 0.6).to(device, dtype)
    # x [T, B, C, W]: the decay per channel [C, 1], the threshold per neuron of one sample [C, W]
    decay = (torch.rand(shape[2], 1, generator=g, dtype=torch.float64) * 0.6 + 0.3).to(device, dtype)
    threshold = (torch.rand(shape[2:], generator=g, dtype=torch.float64) * 0.6 + 0.7).to(device, dtype)
    weights = [torch.randn(shape, generator=g, dtype=torch.float64).to(device) for _ in range(2)]
    return x, v, decay, threshold, weights


def _grads(backend, x, v, decay, threshold, weights, **options):
    leaves = [t.detach().clone().requires_grad_() for t in (x, v, decay, threshold)]
    s, h, u = fastlif.lif_sequence(leaves[0], v_init=leaves[1], decay=leaves[2], threshold=leaves[3],
                                   return_state=True, backend=backend, **options)
    loss = (s.double() * weights[0]).sum() + (h.double() * weights[1]).sum() + u.double().square().sum()
    return (s, h, u), torch.autograd.grad(loss, leaves)


@pytest.mark.parametrize("twin", FP64_BACKENDS, ids=_ids(FP64_BACKENDS))
@pytest.mark.parametrize("equation", EQUATIONS, ids=_eq_id)
@pytest.mark.parametrize("surrogate", [sg.Sigmoid(3.0), sg.Triangle(0.8), sg.ATan(2.0)], ids=lambda s: s.name)
@pytest.mark.parametrize("detach_reset", [False, True])
def test_parameter_gradients_match_the_reference_fp64(twin, equation, surrogate, detach_reset):
    """Every output and every gradient — x, v_init, the per-channel decay and the per-neuron threshold, summed
    by the kernel over t and by autograd over the broadcast dims — equal the reference's autograd to fp64
    rounding."""
    backend, device = twin
    x, v, decay, threshold, w = _inputs(device)
    x = x * 3 if equation.get("decay_input") else x  # the scaled input charges by (1 − decay)·x
    options = dict(surrogate=surrogate, detach_reset=detach_reset, **equation)
    (s, h, u), grads = _grads(backend, x, v, decay, threshold, w, **options)
    (s_r, h_r, u_r), grads_r = _grads("reference", x, v, decay, threshold, w, **options)
    assert torch.equal(s, s_r) and torch.equal(h, h_r) and torch.equal(u, u_r)
    assert 0.05 < s.mean().item() < 0.6  # the spikes and the reset matter
    for name, a, b in zip(("x", "v_init", "decay", "threshold"), grads, grads_r):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-11, msg=name)


@pytest.mark.parametrize("twin", [("reference", "cpu")] + FP64_BACKENDS, ids=["reference"] + _ids(FP64_BACKENDS))
@pytest.mark.parametrize("equation", EQUATIONS, ids=_eq_id)
def test_gradcheck_parameters_fp64(twin, equation):
    """fp64 gradcheck of (x, v_init, decay, threshold) → (h, u_final) with the reset detached and the membranes
    far from the threshold, where the triangle surrogate vanishes: the charge's and the reset's derivatives in the
    parameters (dh/d decay = u[t−1]; the soft and delayed resets subtract the threshold) must be exact."""
    backend, device = twin
    g = torch.Generator().manual_seed(4)
    x = torch.rand(6, 2, 3, generator=g, dtype=torch.float64) * 0.2 - 3.0
    x[1, :, :2] = 9.0  # some neurons fire, far above the threshold
    v = torch.rand(2, 3, generator=g, dtype=torch.float64) * 0.3
    decay = torch.rand(3, generator=g, dtype=torch.float64) * 0.5 + 0.3
    threshold = torch.rand(2, 1, generator=g, dtype=torch.float64) + 0.7
    leaves = [t.to(device).requires_grad_() for t in (x, v, decay, threshold)]

    def f(x, v, decay, threshold):
        _, h, u = fastlif.lif_sequence(x, v_init=v, decay=decay, threshold=threshold, detach_reset=True,
                                       surrogate=sg.Triangle(0.5), return_state=True, backend=backend, **equation)
        return h, u

    assert torch.autograd.gradcheck(f, tuple(leaves))


@pytest.mark.parametrize("twin", BACKENDS, ids=_ids(BACKENDS))
@pytest.mark.parametrize("equation", EQUATIONS, ids=_eq_id)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16], ids=str)
def test_fp32_state_parameters_match_the_reference(twin, equation, dtype):
    """fp32 state, any input dtype: spikes and final state bit-equal to the reference (the same fp32 arithmetic,
    rounded step by step as the reference rounds), every gradient to fp32 rounding — for a backward that reads the
    stored 16-bit membrane (CUDA, Triton), to that membrane's rounding."""
    backend, device = twin
    x, v, decay, threshold, w = _inputs(device, torch.float32, shape=(6, 2, 4, 5), seed=1)
    x = (x * 3 if equation.get("decay_input") else x).to(dtype)
    options = dict(surrogate="sigmoid", **equation)
    (s, _, u), grads = _grads(backend, x, v, decay, threshold, w, **options)
    (s_r, _, u_r), grads_r = _grads("reference", x, v, decay, threshold, w, **options)
    assert torch.equal(s, s_r) and torch.equal(u, u_r)
    exact = dtype == torch.float32 or recomputes_membrane(backend, torch.device(device))
    for name, a, b in zip(("x", "v_init", "decay", "threshold"), grads, grads_r):
        scale = max(b.abs().max().item(), 1.0)
        tol = 2e-5 if exact else 3e-2
        assert (a.double() - b.double()).abs().max().item() <= tol * scale, name


@pytest.mark.parametrize("twin", BACKENDS, ids=_ids(BACKENDS))
def test_parameter_gradients_are_deterministic(twin):
    """Each neuron's sum over t is one thread's, in a fixed order: two runs give the same bits (OpenMP path)."""
    backend, device = twin
    shape = (3, 2, 4, 9) if backend == "triton" else (5, 8, 4, 2500)  # the interpreter is slow
    x, v, decay, threshold, w = _inputs(device, torch.float32, shape=shape, seed=2)
    threshold = threshold[:, :1]
    runs = [_grads(backend, x, v, decay, threshold, w, surrogate="sigmoid")[1] for _ in range(2)]
    assert all(torch.equal(a, b) for a, b in zip(*runs))


@pytest.mark.parametrize("twin", BACKENDS, ids=_ids(BACKENDS))
@pytest.mark.parametrize("equation", EQUATIONS, ids=_eq_id)
def test_one_element_parameter_gradients(twin, equation):
    """A per-layer decay and threshold (one element each, as PLIF learns them): the op hands back one value each,
    the kernel's sum over every neuron and step, not a per-neuron `[N]` to sum, and it equals the reference's
    autograd (fp64 rounding on the extension's kernels; fp32 sums in a different order on Triton)."""
    backend, device = twin
    dtype = torch.float32 if backend == "triton" else torch.float64
    x, v, _, _, w = _inputs(device, dtype)
    x = x * 3 if equation.get("decay_input") else x
    decay = torch.tensor([[0.6]], dtype=dtype, device=device)
    threshold = torch.tensor(0.9, dtype=dtype, device=device)
    with OpLog() as log:
        _, grads = _grads(backend, x, v, decay, threshold, w, surrogate="sigmoid", **equation)
    _, grads_r = _grads("reference", x.double(), v.double(), decay.double(), threshold.double(), w,
                        surrogate="sigmoid", **equation)
    (_, (_, _, grad_decay, grad_threshold)), = log.of("lif_backward_triton" if backend == "triton" else "lif_backward")
    assert grad_decay.numel() == grad_threshold.numel() == 1
    tol = dict(rtol=1e-10, atol=1e-11) if dtype == torch.float64 else dict(rtol=1e-5, atol=1e-5)
    for name, a, b in zip(("x", "v_init", "decay", "threshold"), grads, grads_r):
        assert a.shape == b.shape, name
        torch.testing.assert_close(a.double(), b, msg=name, **tol)


def test_one_element_parameter_gradient_is_the_same_for_any_thread_count(keep_threads):
    """The CPU kernel sums a per-layer parameter's gradient per chunk of neurons, then the chunks in order: the
    same bits with one thread or two (many chunks: N spans ten of them)."""
    x, v, _, _, w = _inputs("cpu", torch.float32, shape=(4, 5, 8003), seed=4)  # the last chunk ends mid-vector
    decay, threshold = torch.tensor(0.6), torch.tensor(0.9)
    runs = []
    for threads in (1, 2):
        torch.set_num_threads(threads)
        runs.append(_grads("cpu", x, v, decay, threshold, w, surrogate="sigmoid")[1])
    assert all(torch.equal(a, b) for a, b in zip(*runs))
    _, grads_r = _grads("reference", x.double(), v.double(), decay.double(), threshold.double(), w,
                        surrogate="sigmoid")
    for a, b in zip(runs[0][2:], grads_r[2:]):
        torch.testing.assert_close(a.double(), b, rtol=1e-5, atol=1e-4)


def test_scalar_tensor_parameters_equal_the_scalar_path():
    """A 0-d tensor decay/threshold gives the bits of the same number passed as a float."""
    for backend, device in BACKENDS:
        x, v, *_ = _inputs(device, torch.float32, seed=3)
        a = fastlif.lif_sequence(x, decay=0.7, threshold=0.9, backend=backend)
        b = fastlif.lif_sequence(x, decay=torch.tensor(0.7, device=device), threshold=torch.tensor(0.9, device=device),
                                 backend=backend)
        assert torch.equal(a, b), backend


def test_fire_ge_fires_exactly_at_the_threshold():
    """'>=' firing: a membrane equal to the threshold spikes; with the default '>' it does not."""
    for backend, device in [("reference", "cpu")] + BACKENDS:
        x = torch.tensor([[1.0, 0.999999940395, 1.0000001]], device=device)  # h = x at t = 0
        assert fastlif.lif_sequence(x, fire_ge=True, backend=backend).tolist() == [[1.0, 0.0, 1.0]]
        assert fastlif.lif_sequence(x, backend=backend).tolist() == [[0.0, 0.0, 1.0]]
        per_neuron = torch.ones(3, device=device)
        assert fastlif.lif_sequence(x, fire_ge=True, threshold=per_neuron, backend=backend).tolist() == [[1.0, 0.0,
                                                                                                          1.0]]


def test_subtract_next_is_snntorch_leaky():
    """snnTorch's reset: h[t] = β·h[t−1] + x[t] − θ·s[t−1], written out by hand."""
    x = torch.tensor([[1.5], [0.2], [0.9], [0.0]])
    h, expect = 0.0, []
    for t in range(4):
        h = 0.5 * h + x[t].item() - (1.0 if h > 1.0 else 0.0)
        expect.append([1.0 if h > 1.0 else 0.0])
    for backend, device in [("reference", "cpu")] + BACKENDS:
        s = fastlif.lif_sequence(x.to(device), decay=0.5, reset="subtract_next", backend=backend)
        assert s.tolist() == expect == [[1.0], [0.0], [0.0], [0.0]]


def test_tau_vocabulary():
    """tau = 2 is decay 0.5; with decay_input the rate 1/τ scales the input."""
    x, *_ = _inputs("cpu", torch.float32, seed=5)
    assert torch.equal(fastlif.lif_sequence(x, tau=2.0), fastlif.lif_sequence(x, decay=0.5))
    s, h, _ = fastlif.lif_sequence(x[:1], tau=4.0, decay_input=True, v_reset=0.0, return_state=True)
    torch.testing.assert_close(h[0], x[0] / 4.0)
    with pytest.raises(ValueError, match="decay or tau"):
        fastlif.lif_sequence(x, tau=2.0, decay=0.5)
    with pytest.raises(ValueError, match="tau must be >= 1"):
        fastlif.lif_sequence(x, tau=0.5)


@settings(max_examples=25, deadline=None)
@given(step=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data())
def test_parameter_shapes_broadcasting_to_one_step(step, data):
    """Any shape that broadcasts to x[0] (a 0-d tensor, per channel, per neuron, with or without leading ones) runs
    on every twin with the reference's spikes and gradients of the parameter's own shape; others are a ValueError
    naming the argument."""
    def shape_of():
        keep = data.draw(st.lists(st.booleans(), min_size=len(step), max_size=len(step)))
        dims = [n if k else 1 for n, k in zip(step, keep)]
        cut = data.draw(st.integers(0, len(dims)))
        return tuple(dims[cut:])
    dshape, tshape = shape_of(), shape_of()
    g = torch.Generator().manual_seed(sum(step))
    x = torch.randn((4, *step), generator=g, dtype=torch.float64) + 0.6
    decay = torch.rand(dshape, generator=g, dtype=torch.float64) * 0.8 + 0.1
    threshold = torch.rand(tshape, generator=g, dtype=torch.float64) + 0.5
    w = [torch.randn(x.shape, generator=g, dtype=torch.float64) for _ in range(2)]
    v = torch.zeros(step, dtype=torch.float64)
    (s_r, _, _), grads_r = _grads("reference", x, v, decay, threshold, w, surrogate="sigmoid")
    for backend in _ids(FP64_BACKENDS):
        (s, _, _), grads = _grads(backend, x, v, decay, threshold, w, surrogate="sigmoid")
        assert torch.equal(s, s_r)
        assert grads[2].shape == dshape and grads[3].shape == tshape
        for a, b in zip(grads, grads_r):
            torch.testing.assert_close(a, b, rtol=1e-10, atol=1e-11)
    bad = tuple(n + 1 for n in step)
    with pytest.raises(ValueError, match="threshold tensor of shape"):
        fastlif.lif_sequence(x, threshold=torch.ones(bad, dtype=torch.float64))
    with pytest.raises(ValueError, match="decay tensor of shape"):
        fastlif.lif_sequence(x, decay=torch.ones((2, *bad), dtype=torch.float64) * 0.5)


def test_integer_parameter_tensor_is_a_type_error():
    with pytest.raises(TypeError, match="decay must be a real number or a floating tensor"):
        fastlif.lif_sequence(torch.zeros(2, 3), decay=torch.ones(3, dtype=torch.int64))


def test_module_parameters_and_plif():
    """LIFSequence: per-channel learnable threshold and PLIF decay are Parameters of the right shape, initialised
    as SpikingJelly's ParametricLIFNode (w = −log(τ − 1)); ParametricLIF is the same module."""
    m = fastlif.LIFSequence(tau=3.0, learn_decay=True, learn_threshold=True, threshold=0.8, shape=(4, 1, 1))
    names = dict(m.named_parameters())
    assert set(names) == {"w", "threshold_param"}
    assert names["w"].shape == (4, 1, 1) and torch.allclose(names["w"], torch.full((4, 1, 1), -math.log(2.0)))
    assert torch.allclose(m.tau, torch.full((4, 1, 1), 3.0))
    plif = fastlif.ParametricLIF(4.0)
    assert type(plif) is fastlif.LIFSequence and plif.decay_input and plif.w.shape == ()
    assert torch.allclose(plif.tau, torch.tensor(4.0))
    user = torch.nn.Parameter(torch.full((4, 1, 1), 0.6))
    m2 = fastlif.LIFSequence(decay=user)
    (name, param), = m2.named_parameters()
    assert name == "decay_param" and param is user
    x = torch.randn(3, 2, 4, 5, 5) + 0.5
    m2(x).sum().backward()
    assert user.grad is not None and user.grad.shape == (4, 1, 1)
