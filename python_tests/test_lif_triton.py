"""The Triton LIF kernels (fastlif/triton/lif.py) against the reference twin and SPEC §1–3.

Without a GPU, conftest.py sets TRITON_INTERPRET=1 and the kernels run on CPU tensors under Triton's interpreter;
with a GPU the same tests run compiled, on CUDA tensors.
"""

import pytest
import torch
from hypothesis import given, settings, strategies as st
from torch import nn

import fastlif
from fastlif import dispatch, ops, reference
from fastlif import surrogate as sg
from fastlif.config import LifConfig
from fastlif.triton import lif
from lif_testing import backward_from_membrane, near_threshold, ptx_facts

DEVICES = ["cuda"] if torch.cuda.is_available() else ["cpu"]
# Non-default shape parameters, so a kernel that ignored sg_param would fail.
SURROGATES = [sg.Triangle(0.7), sg.Rectangle(0.6), sg.Sigmoid(3.0), sg.ATan(1.5), sg.SuperSpike(6.0)]
SMOOTH_SURROGATES = [s for s in SURROGATES if s.name in ("triangle", "sigmoid", "atan")]
LOW_PRECISION = [torch.float16, torch.bfloat16]
FP32_TOL = dict(rtol=1e-5, atol=1e-5)
# End-to-end gradient tolerance of fp16/bf16 runs against the fp32-internal reference. The kernel evaluates the
# surrogate at h as stored (rounded to x's dtype: 2^-11 / 2^-8 relative) while the reference uses h in fp32, and
# writes dx in x's dtype; the surrogates' slopes (up to ~1/γ² and α²/4) turn that into ~1e-3 / ~2e-2.
LOW_PRECISION_GRAD_TOL = {torch.float16: dict(rtol=1e-2, atol=1e-2), torch.bfloat16: dict(rtol=6e-2, atol=6e-2)}


@pytest.fixture(params=DEVICES)
def device(request):
    return torch.device(request.param)


def _cfg(**kw):
    base = dict(decay=0.7, threshold=0.9, v_reset=-0.2)
    base.update(kw)
    return LifConfig.make(**base)


def _forward_backward(run, x, v_init, cfg, seeds):
    """Run a backend with return_state and back-propagate ``seeds`` = (grad_s, grad_h, grad_u); None seeds skip
    that output. Returns ((s, h, u), grads of (x, v_init))."""
    x = x.detach().clone().requires_grad_()
    v = None if v_init is None else v_init.detach().clone().requires_grad_()
    s, h, u = run(x, v, cfg, True)
    loss = sum((out.float() * seed).sum() for out, seed in zip((s, h, u), seeds) if seed is not None)
    grads = torch.autograd.grad(loss, (x,) if v is None else (x, v))
    return (s.detach(), h.detach(), u.detach()), grads


def assert_spikes_match(s, s_ref, h_ref, threshold, ulps=4):
    """Spikes are bit-equal to the reference's, except where the reference membrane lies within a few ulps of the
    threshold (a differently rounded charge may fall on the other side there); such flips must stay rare."""
    flips = s != s_ref
    near = near_threshold(h_ref.float(), threshold, ulps)
    assert not (flips & ~near).any(), "spikes differ away from the threshold"
    assert int(flips.sum()) <= max(1, flips.numel() // 1000)


def assert_matches_reference_fp32(x, v_init, cfg, seeds):
    (s, h, u), grads = _forward_backward(lif.run, x, v_init, cfg, seeds)
    (s_r, h_r, u_r), grads_r = _forward_backward(reference.run, x, v_init, cfg, seeds)
    assert s.dtype == x.dtype and h.dtype == x.dtype and u.dtype == torch.float32
    assert s.shape == x.shape and h.shape == x.shape and u.shape == x.shape[1:]
    assert_spikes_match(s, s_r, h_r, cfg.threshold)
    torch.testing.assert_close(h, h_r, **FP32_TOL)
    torch.testing.assert_close(u, u_r, **FP32_TOL)
    for g, g_r in zip(grads, grads_r):
        assert g.dtype == g_r.dtype
        torch.testing.assert_close(g, g_r, **FP32_TOL)


def _random_case(device, shape=(5, 3, 7), dtype=torch.float32, seed=0):
    gen = torch.Generator().manual_seed(seed)
    x = (torch.randn(shape, generator=gen) * 1.2 + 0.3).to(device=device, dtype=dtype)
    v_init = torch.randn(shape[1:], generator=gen).to(device)
    seeds = tuple(torch.randn(s, generator=gen).to(device) for s in (shape, shape, shape[1:]))
    return x, v_init, seeds


# ---------------------------------------------------------------- fp32 parity, every option of SPEC §1–3

@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("detach_reset", [False, True])
@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_matches_reference_for_every_option(device, reset, detach_reset, surrogate):
    x, v_init, seeds = _random_case(device)
    cfg = _cfg(reset=reset, detach_reset=detach_reset, surrogate=surrogate)
    assert_matches_reference_fp32(x, v_init, cfg, seeds)


@pytest.mark.parametrize("used", ["spikes", "membrane", "final_state"])
def test_gradient_from_a_single_output(device, used):
    """Outputs nobody differentiates reach the backward as None; each one alone must still give the right grads."""
    x, v_init, seeds = _random_case(device, seed=1)
    keep = {"spikes": 0, "membrane": 1, "final_state": 2}[used]
    seeds = tuple(seed if i == keep else None for i, seed in enumerate(seeds))
    assert_matches_reference_fp32(x, v_init, _cfg(), seeds)


@pytest.mark.parametrize("reset", ["hard", "soft"])
def test_spikes_only_call_matches_reference(device, reset):
    """The plain ``lif_sequence(x)`` path: no state returned, no v_init, default neuron."""
    x, _, (grad_s, _, _) = _random_case(device, shape=(4, 9), seed=2)
    x = x.requires_grad_()
    s = fastlif.lif_sequence(x, reset=reset, backend="triton")
    (gx,) = torch.autograd.grad((s * grad_s).sum(), x)
    x_r = x.detach().clone().requires_grad_()
    s_r = fastlif.lif_sequence(x_r, reset=reset, backend="reference")
    (gx_r,) = torch.autograd.grad((s_r * grad_s).sum(), x_r)
    assert torch.equal(s, s_r)
    torch.testing.assert_close(gx, gx_r, **FP32_TOL)


@pytest.mark.parametrize("shape", [(1, 5), (12, 13), (3, 1), (2, 2, 3, 5)],
                         ids=["T1", "T12-beyond-unroll", "one-neuron", "4d"])
def test_shapes(device, shape):
    assert lif.MAX_UNROLL < 12  # (12, 13) must take the runtime time loop
    x, v_init, seeds = _random_case(device, shape=shape, seed=3)
    assert_matches_reference_fp32(x, v_init, _cfg(), seeds)


def test_gradient_to_v_init_alone(device):
    """x needs no gradient (e.g. a frozen encoder), the initial membrane does: h must still be stored."""
    x, v_init, (grad_s, _, grad_u) = _random_case(device, shape=(5, 12), seed=14)
    cfg = _cfg(reset="soft", surrogate="superspike")
    grads = []
    for run in (lif.run, reference.run):
        v = v_init.clone().requires_grad_()
        s, _, u = run(x, v, cfg, True)
        grads.append(torch.autograd.grad((s * grad_s).sum() + (u * grad_u).sum(), v)[0])
    torch.testing.assert_close(grads[0], grads[1], **FP32_TOL)


def test_non_contiguous_inputs(device):
    x_full, v_full, _ = _random_case(device, shape=(6, 8, 5), seed=4)
    x = x_full.transpose(1, 2)[:, :, ::2]      # [6, 5, 4], strided in both trailing dims
    v_init = v_full.t()[:, ::2]
    assert not x.is_contiguous() and not v_init.is_contiguous()
    seeds = (torch.randn_like(x), torch.randn_like(x), torch.randn_like(v_init))
    assert_matches_reference_fp32(x, v_init, _cfg(surrogate="atan"), seeds)


@settings(max_examples=6, deadline=None)
@given(T=st.integers(1, 11), n=st.integers(1, 33), decay=st.floats(0.0, 1.0), threshold=st.floats(0.25, 2.0),
       v_reset=st.floats(-0.5, 0.5), reset=st.sampled_from(["hard", "soft"]), detach_reset=st.booleans(),
       surrogate=st.sampled_from(SURROGATES), seed=st.integers(0, 2**16))
def test_random_options_match_reference(T, n, decay, threshold, v_reset, reset, detach_reset, surrogate, seed):
    cfg = LifConfig.make(decay, threshold, v_reset, reset, surrogate, detach_reset)
    x, v_init, seeds = _random_case(torch.device(DEVICES[0]), shape=(T, n), seed=seed)
    assert_matches_reference_fp32(x, v_init, cfg, seeds)


# ---------------------------------------------------------------- fp16 / bf16

@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
def test_low_precision_forward(device, dtype):
    """The state is fp32 whatever x's dtype, so spikes and u_final equal the reference's exactly; h equals the
    reference's rounding, except where that rounding crossed the threshold (there: one ulp toward the spike)."""
    x, v_init, _ = _random_case(device, shape=(8, 4, 33), dtype=dtype, seed=8)
    cfg = _cfg(reset="soft")
    s, h, u = lif.run(x, v_init, cfg, True)
    s_r, h_r, u_r = reference.run(x, v_init, cfg, True)
    assert s.dtype == h.dtype == dtype and u.dtype == torch.float32
    assert torch.equal(s, s_r) and torch.equal(u, u_r)
    assert torch.equal((h.float() > cfg.threshold).to(dtype), s)
    moved = h != h_r
    assert torch.equal(moved, (h_r.float() > cfg.threshold) != (s == 1))


@pytest.mark.parametrize("surrogate", SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
def test_low_precision_backward_follows_spec_at_stored_membrane(device, dtype, surrogate):
    """Given the h it stored, the backward is SPEC §2 to fp32 accuracy; only dx's final rounding to x's dtype
    remains (half an ulp of the dtype, plus the fp32 differences that can tip it to the next value)."""
    x, v_init, seeds = _random_case(device, shape=(6, 3, 11), dtype=dtype, seed=9)
    cfg = _cfg(surrogate=surrogate)
    (_, h, _), (gx, gv) = _forward_backward(lif.run, x, v_init, cfg, seeds)
    grad_s, grad_h, grad_u = seeds
    # the gradients in the dtype the outputs get them
    dx, dv = backward_from_membrane(h, grad_s.to(dtype), grad_h.to(dtype), grad_u, cfg)
    ulp = torch.finfo(dtype).eps
    torch.testing.assert_close(gx.float(), dx.to(dtype).float(), rtol=ulp, atol=1e-5)
    torch.testing.assert_close(gv, dv, **FP32_TOL)


@pytest.mark.parametrize("surrogate", SMOOTH_SURROGATES, ids=lambda s: s.name)
@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
def test_low_precision_gradients_close_to_reference(device, dtype, surrogate):
    x, v_init, seeds = _random_case(device, shape=(6, 3, 11), dtype=dtype, seed=10)
    cfg = _cfg(surrogate=surrogate)
    _, grads = _forward_backward(lif.run, x, v_init, cfg, seeds)
    _, grads_r = _forward_backward(reference.run, x, v_init, cfg, seeds)
    for g, g_r in zip(grads, grads_r):
        assert g.dtype == g_r.dtype
        torch.testing.assert_close(g.float(), g_r.float(), **LOW_PRECISION_GRAD_TOL[dtype])


@pytest.mark.parametrize("v_dtype", ["input", "state"])
def test_v_init_in_either_dtype(device, v_dtype):
    """v_init may be in x's dtype or the fp32 state dtype; its gradient comes back in v_init's own dtype."""
    x, v_init, seeds = _random_case(device, shape=(5, 17), dtype=torch.float16, seed=11)
    v_init = v_init.to(torch.float16 if v_dtype == "input" else torch.float32)
    cfg = _cfg()
    (s, _, u), (_, gv) = _forward_backward(lif.run, x, v_init, cfg, seeds)
    (s_r, _, u_r), (_, gv_r) = _forward_backward(reference.run, x, v_init, cfg, seeds)
    assert torch.equal(s, s_r) and torch.equal(u, u_r)
    assert gv.dtype == v_init.dtype
    torch.testing.assert_close(gv.float(), gv_r.float(), **LOW_PRECISION_GRAD_TOL[torch.float16])


@pytest.mark.parametrize("direction", ["rounds_down_below", "rounds_up_above"])
@pytest.mark.parametrize("dtype", LOW_PRECISION, ids=str)
def test_backward_sees_the_forward_spikes_when_rounding_crosses_threshold(device, dtype, direction):
    """Construct fp32 membranes whose rounding to x's dtype lands on the wrong side of the threshold.

    h = decay * v_init + x with x = 1 and v_init in fp32: ``rounds_down_below`` fires (h = 1 + ulp/8 > 1) but h
    rounds to 1.0, not above threshold 1; ``rounds_up_above`` does not fire (h = 1 + 3ulp/4 <= 1 + 7ulp/8) but
    h rounds to 1 + ulp, above the threshold. With detach_reset and only u_final used, SPEC §2 gives
    d v_init = decay * (1 - s): 0 where the neuron fired, decay where not — so the gradient shows which spike
    the backward saw.
    """
    ulp = torch.finfo(dtype).eps  # spacing of dtype's values in [1, 2)
    fires = direction == "rounds_down_below"
    threshold = 1.0 if fires else 1.0 + 0.875 * ulp
    v_value = 0.25 * ulp if fires else 1.5 * ulp
    cfg = LifConfig.make(decay=0.5, threshold=threshold, reset="hard", detach_reset=True)
    x = torch.ones(1, 4, device=device, dtype=dtype, requires_grad=True)
    v_init = torch.full((4,), v_value, device=device, requires_grad=True)
    s, h, u = lif.run(x, v_init, cfg, True)
    (gv,) = torch.autograd.grad(u.sum(), v_init)

    s_r, h_r, _ = reference.run(x, v_init, cfg, True)
    assert torch.equal(s, s_r) and bool((s == 1).all()) == fires
    assert bool(((h_r.float() > threshold) != (s == 1)).all())  # plain rounding would be wrong everywhere
    assert torch.equal((h.float() > threshold), s == 1)
    step = ulp if fires else -ulp
    torch.testing.assert_close(h.float(), h_r.float() + step, rtol=0, atol=0)
    torch.testing.assert_close(gv, torch.full_like(gv, 0.0 if fires else 0.5), rtol=0, atol=0)


# ---------------------------------------------------------------- registration, compile, dispatch, errors

def test_fp64_is_rejected_with_a_type_error(device):
    x = torch.zeros(2, 3, dtype=torch.float64, device=device)
    with pytest.raises(TypeError, match="float64"):
        fastlif.lif_sequence(x, backend="triton")


def test_ops_reject_bad_layouts_and_ids(device):
    x = torch.zeros(3, 4, device=device)
    forward = torch.ops.fastlif.lif_forward_triton
    with pytest.raises(ValueError, match="x must be dense with time outermost"):
        forward(x.t(), None, 0.5, 1.0, 0.0, 0, 0, 1.0, False, False, True)
    with pytest.raises(ValueError, match="surrogate"):
        forward(x, None, 0.5, 1.0, 0.0, 0, 5, 1.0, False, False, True)
    with pytest.raises(ValueError, match="pass h, not x"):
        torch.ops.fastlif.lif_backward_triton(x, None, None, x, None, None, 0.5, 1.0, 0.0, 0, 0, 1.0, False, True)


def test_opcheck_forward_and_backward_ops(device):
    """torch.library.opcheck: schema, fake (meta) implementation, autograd registration, AOT dispatch."""
    x, v_init, (grad_s, grad_h, grad_u) = _random_case(device, shape=(3, 6), seed=12)
    scalars = (0.7, 0.9, -0.2, 0, 2, 3.0, False)
    forward = torch.ops.fastlif.lif_forward_triton.default
    torch.library.opcheck(forward, (x.requires_grad_(), v_init.requires_grad_(), *scalars, True, True))
    torch.library.opcheck(forward, (x.detach(), v_init.detach(), *scalars, False, False))  # inference
    h = lif.run(x.detach(), v_init.detach(), _cfg(), True)[1]
    backward = torch.ops.fastlif.lif_backward_triton.default
    torch.library.opcheck(backward, (None, None, h, grad_s, grad_h, grad_u, *scalars, True))
    torch.library.opcheck(backward, (None, None, h, grad_s, None, None, *scalars, False))


def _recording_backend(device, graphs):
    """A torch.compile backend that keeps every Dynamo graph and hands it on to inductor (CUDA) or aot_eager."""
    def backend(gm, example_inputs):
        graphs.append(gm)
        return torch._dynamo.lookup_backend("inductor" if device.type == "cuda" else "aot_eager")(gm, example_inputs)
    return backend


def test_torch_compile_fullgraph(device):
    """A model using the Triton backend compiles in one graph (forward and AOT-traced backward) and computes what
    eager does. On CPU the compiler backend is aot_eager: Inductor would only add C++ codegen for the Linear,
    ~20 s on the CI box, while the op itself runs through the same registration either way."""
    torch.manual_seed(13)
    model = nn.Sequential(nn.Linear(6, 8), fastlif.LIFSequence(surrogate="atan", backend="triton")).to(device)
    x = torch.randn(4, 3, 6, device=device) * 2

    graphs = []
    torch._dynamo.reset()
    compiled = torch.compile(model, fullgraph=True, backend=_recording_backend(device, graphs))
    out = compiled(x)
    out.sum().backward()
    compiled_grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad()
    out_eager = model(x)
    out_eager.sum().backward()

    assert len(graphs) == 1
    assert any("lif_forward_triton" in str(node.target) for node in graphs[0].graph.nodes)
    assert torch.equal(out, out_eager)
    for g, g_eager in zip(compiled_grads, (p.grad for p in model.parameters())):
        torch.testing.assert_close(g, g_eager, **FP32_TOL)


def test_torch_compile_dynamic_time_steps(device):
    """SLT draws a new T every batch: the graph compiled for T = 3 serves T = 10 too (the looped kernel), with no
    recompilation. (Dynamo may hand the first frame to the backend twice while it settles which Python floats to
    specialise; what matters is that the second T adds nothing.)"""
    lif_layer = fastlif.LIFSequence(reset="soft", backend="triton")
    graphs = []
    torch._dynamo.reset()
    compiled = torch.compile(lif_layer, fullgraph=True, dynamic=True, backend=_recording_backend(device, graphs))
    graphs_per_call = []
    for T in (3, 10):
        x = (torch.randn(T, 2, 5, device=device) * 2).requires_grad_()
        out = compiled(x)
        (gx,) = torch.autograd.grad(out.sum(), x)
        graphs_per_call.append(len(graphs))
        x_r = x.detach().clone().requires_grad_()
        out_r = fastlif.lif_sequence(x_r, reset="soft", backend="reference")
        (gx_r,) = torch.autograd.grad(out_r.sum(), x_r)
        assert torch.equal(out, out_r)
        torch.testing.assert_close(gx, gx_r, **FP32_TOL)
    assert graphs_per_call[0] >= 1 and graphs_per_call[1] == graphs_per_call[0]


def test_auto_dispatch_uses_triton_on_cpu_only_under_the_interpreter(monkeypatch):
    cpu = torch.device("cpu")
    monkeypatch.setattr(ops, "LOAD_ERROR", "compiled extension missing (simulated)")
    monkeypatch.setenv("TRITON_INTERPRET", "0")
    assert dispatch.pick("auto", cpu) == "reference"
    with pytest.raises(ValueError, match="interpreter"):
        dispatch.pick("triton", cpu)
    monkeypatch.setenv("TRITON_INTERPRET", "1")
    assert dispatch.pick("auto", cpu) == "triton"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
def test_auto_dispatch_uses_triton_for_cuda_without_the_compiled_kernel(monkeypatch):
    monkeypatch.setattr(ops, "LOAD_ERROR", "compiled extension missing (simulated)")
    assert dispatch.pick("auto", torch.device("cuda")) == "triton"


# Compiles the kernels for an H100 (sm_90) with Triton's bundled ptxas — no GPU needed — and reports facts about
# the PTX. Runs in a fresh interpreter because the kernels of this process are interpreted functions.
_PTX_PROBE = r"""
import json
import triton
from triton.backends.compiler import GPUTarget
from triton.compiler import ASTSource
from fastlif.triton import lif

def ptx(kernel, types, constexprs):
    sig = {name: types.get(name, "constexpr") for name in kernel.arg_names}
    return triton.compile(ASTSource(kernel, sig, constexprs), target=GPUTarget("cuda", 90, 32)).asm["ptx"]

def forward(dtype, exact_mul, charge=0, params=False):
    types = dict(x_ptr=f"*{dtype}", v_ptr="*fp32", s_ptr=f"*{dtype}", h_ptr=f"*{dtype}", u_ptr="*fp32", T="i32",
                 N="i32", decay="fp32", threshold="fp32", fire_at="fp32", v_reset="fp32", dt_stride="i32",
                 tt_stride="i32")
    nones = dict(dt_ptr=None, tt_ptr=None, fa_ptr=None)
    if params:
        types.update(dt_ptr="*fp32", tt_ptr="*fp32", fa_ptr="*fp32")
        nones = {}
    return ptx(lif._forward_kernel.fn, types, dict(HAS_V=True, STORE_H=True, RESET=0, CHARGE=charge,
                                                   HAS_DT=params, HAS_TT=params, EXACT_MUL=exact_mul, UNROLL=0,
                                                   BLOCK=1024, **nones))

def backward(surrogate, reset=0, charge=0, grads=False):
    types = dict(gs_ptr="*bf16", gu_ptr="*fp32", h_ptr="*bf16", dx_ptr="*bf16", dv_ptr="*fp32", T="i32", N="i32",
                 last_row="i64", decay="fp32", threshold="fp32", fire_at="fp32", v_reset="fp32", sg_param="fp32",
                 dt_stride="i32", tt_stride="i32")
    nones = dict(x_ptr=None, v_ptr=None, dt_ptr=None, tt_ptr=None, fa_ptr=None, gd_ptr=None, gt_ptr=None)
    if grads:
        types.update(x_ptr="*bf16", v_ptr="*fp32", dt_ptr="*fp32", tt_ptr="*fp32", fa_ptr="*fp32", gd_ptr="*fp32",
                     gt_ptr="*fp32")
        nones = {}
    return ptx(lif._backward_kernel.fn, types, dict(gh_ptr=None, HAS_GS=True, HAS_GH=False, HAS_GU=True,
                                                    HAS_V=grads, STORE_GV=True, RESET=reset, CHARGE=charge,
                                                    DETACH=False, SURROGATE=surrogate, HAS_DT=grads, HAS_TT=grads,
                                                    GRADS=grads, UNROLL=4, BLOCK=512, **nones))

guarded, unguarded = forward("fp32", True), forward("fp32", False)
print(json.dumps(dict(
    guarded_mul_rn="mul.rn.f32" in guarded, guarded_fma="fma.rn.f32" in guarded,
    unguarded_fma="fma.rn.f32" in unguarded,
    low_precision_forward=[".entry" in forward(d, True) for d in ("fp16", "bf16")],
    scaled_input_fma="fma.rn.f32" in forward("fp32", True, charge=1, params=True),
    scaled_input_mul_rn="mul.rn.f32" in forward("fp32", True, charge=1, params=True),
    backward=[".entry" in backward(k) for k in range(5)],
    backward_grads=[".entry" in backward(2, reset, charge, True) for reset, charge in ((0, 0), (1, 1), (2, 0))])))
"""


def test_compiles_for_gpu_without_fused_multiply_add_in_the_charge():
    """The compiled (non-interpreted) path builds for sm_90, and its charge h = decay*u + x is a rounded multiply
    then an add: with the mul.rn guard the forward PTX holds no fma; without it Triton's LLVM pipeline contracts
    the charge into fma.rn.f32, whose single rounding could move spikes near the threshold off the reference's.
    The same for the scaled-input charge with per-neuron parameters, and the backward with parameter gradients."""
    facts = ptx_facts(_PTX_PROBE)
    assert facts["guarded_mul_rn"] and not facts["guarded_fma"]
    assert facts["unguarded_fma"]
    assert facts["low_precision_forward"] == [True, True]
    assert facts["backward"] == [True] * 5
    # The scaled input (SpikingJelly's charge) with per-neuron parameters: also a rounded multiply, no fma; the
    # backward with the parameter gradients builds for every reset.
    assert facts["scaled_input_mul_rn"] and not facts["scaled_input_fma"]
    assert facts["backward_grads"] == [True] * 3
