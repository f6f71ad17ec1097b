"""The fused-op contract (fastlif/ops.py) on every compiled twin here: what the kernels are asked to read and
write, observed from below autograd with a TorchDispatchMode log of the op calls, and the layouts they accept."""
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch

import fastlif
from fastlif import reference
from lif_testing import BACKENDS, OpLog

FORWARD = {"cpu": "lif_forward", "cuda": "lif_forward", "triton": "lif_forward_triton"}
BACKWARD = {"cpu": "lif_backward", "cuda": "lif_backward", "triton": "lif_backward_triton"}
ZERO_FILLS = ("zeros", "zeros_like", "new_zeros", "zero_", "fill_", "full", "full_like", "new_full")


@pytest.fixture(params=BACKENDS, ids=[b for b, _ in BACKENDS])
def twin(request):
    return request.param


def _x(device, shape=(6, 3, 40), seed=0):
    g = torch.Generator().manual_seed(seed)
    return (torch.randn(shape, generator=g) * 1.2 + 0.4).to(device)


def test_spikes_only_loss_passes_no_zero_gradients(twin):
    """A loss on the spikes alone: the backward op gets grad_h = grad_u = None (the kernels' no-grad_h path) and
    nothing anywhere fills a tensor with zeros; no u_final, no grad_v (nobody reads them)."""
    backend, device = twin
    x = _x(device).requires_grad_()
    with OpLog() as log:
        s = fastlif.lif_sequence(x, surrogate="sigmoid", backend=backend)
        s.backward(torch.ones_like(s) * 0.5)
    (fargs, (_, h, u)), = log.of(FORWARD[backend])
    (bargs, (gx, gv, gd, gt)), = log.of(BACKWARD[backend])
    x_in, v_in, h_in, grad_s, grad_h, grad_u = bargs[:6]
    assert grad_s is not None and grad_h is None and grad_u is None
    assert u.numel() == 0 and gv.numel() == 0 and bargs[13] is False  # need_grad_v
    assert gd.numel() == gt.numel() == 0 and bargs[-1] is False  # need_grad_params: no parameter tensors
    recompute = backend == "cpu"
    assert fargs[9] is (not recompute) and (h.numel() == 0) is recompute  # save_h only where backward reads it
    assert (x_in is not None, h_in is not None) == (recompute, not recompute)
    assert not [n for n, _, _ in log.calls if n in ZERO_FILLS]
    x_r = x.detach().clone().requires_grad_()
    reference.lif_sequence(x_r, surrogate="sigmoid").backward(torch.ones_like(s) * 0.5)
    torch.testing.assert_close(x.grad, x_r.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("output", ["h", "u"])
def test_loss_without_spikes_passes_no_grad_s(twin, output):
    backend, device = twin
    x = _x(device).requires_grad_()
    v = torch.randn(x.shape[1:], device=device, requires_grad=True)
    with OpLog() as log:
        _, h, u = fastlif.lif_sequence(x, v_init=v, return_state=True, backend=backend)
        ((h if output == "h" else u) ** 2).sum().backward()
    (bargs, (_, gv, _, _)), = log.of(BACKWARD[backend])
    assert bargs[3] is None and (bargs[4] is None) == (output == "u") and (bargs[5] is None) == (output == "h")
    assert gv.shape == v.shape
    x_r, v_r = x.detach().clone().requires_grad_(), v.detach().clone().requires_grad_()
    _, h_r, u_r = reference.lif_sequence(x_r, v_init=v_r, return_state=True)
    ((h_r if output == "h" else u_r) ** 2).sum().backward()
    torch.testing.assert_close(x.grad, x_r.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(v.grad, v_r.grad, rtol=1e-5, atol=1e-6)


def test_streaming_inference_writes_spikes_and_state_only(twin):
    """A stateful neuron under no_grad carries u between calls and never writes the membrane h."""
    backend, device = twin
    x = _x(device, seed=1)
    layer = fastlif.LIFSequence(stateful=True, backend=backend)
    with torch.no_grad(), OpLog() as log:
        out = torch.cat([layer(x[:2]), layer(x[2:])])
    calls = log.of(FORWARD[backend])
    assert len(calls) == 2
    for args, (_, h, u) in calls:
        assert args[9] is False and args[10] is True and h.numel() == 0 and u.shape == x.shape[1:]
    s_r, _, u_r = reference.lif_sequence(x, return_state=True)
    assert torch.equal(out, s_r) and torch.equal(layer.state, u_r)


def test_inference_writes_spikes_only(twin):
    backend, device = twin
    x = _x(device, seed=2)
    with torch.no_grad(), OpLog() as log:
        s = fastlif.lif_sequence(x, backend=backend)
    (args, (_, h, u)), = log.of(FORWARD[backend])
    assert h.numel() == 0 and u.numel() == 0
    assert torch.equal(s, reference.lif_sequence(x))


def _raw_forward(backend):
    return getattr(torch.ops.fastlif, FORWARD[backend])


def _raw_backward(backend):
    return getattr(torch.ops.fastlif, BACKWARD[backend])


def test_zero_steps_return_the_initial_state(twin):
    """T = 0 through the raw ops: u_final is v_init (zeros without one), dL/dv_init is dL/du_final."""
    backend, device = twin
    x = torch.empty(0, 3, 4, device=device)
    v = torch.randn(3, 4, device=device)
    scalars = (0.5, 1.0, 0.0, 0, 0, 1.0, False)
    s, h, u = _raw_forward(backend)(x, v, *scalars, True, True)
    assert s.shape == h.shape == x.shape and torch.equal(u, v) and u.data_ptr() != v.data_ptr()
    _, _, u0 = _raw_forward(backend)(x, None, *scalars, False, True)
    assert torch.equal(u0, torch.zeros(3, 4, device=device))
    gu = torch.randn(3, 4, device=device)
    x_or_h = (x, None) if backend == "cpu" else (None, x)
    gx, gv, *_ = _raw_backward(backend)(*x_or_h[:1], v, x_or_h[1], None, None, gu, *scalars, True)
    assert gx.shape == x.shape and torch.equal(gv, gu)


def _channels_last_steps(device, T=3, B=2, C=5, H=4, W=3):
    """What a time-folded conv hands the neuron: a channels_last [T*B, C, H, W] output viewed as [T, B, ...]."""
    y = torch.randn(T * B, C, H, W).contiguous(memory_format=torch.channels_last).to(device) + 0.6
    return y.view(T, B, C, H, W)


def test_channels_last_input_is_not_copied(twin):
    """Outputs and gradients keep x's layout, and nothing reads x to copy it."""
    backend, device = twin
    x = _channels_last_steps(device).requires_grad_()
    w = torch.empty_like(x).copy_(torch.linspace(0, 1, x.numel(), device=device).view(x.shape))
    with OpLog() as log:
        s, h, u = fastlif.lif_sequence(x, return_state=True, surrogate="atan", backend=backend)
        (s * w + h * w).sum().backward()
    x_ptr = x.untyped_storage().data_ptr()
    copies = [n for n, args, _ in log.calls if n in ("clone", "contiguous", "copy_", "_to_copy")
              and any(isinstance(a, torch.Tensor) and a.untyped_storage().data_ptr() == x_ptr for a in args)]
    assert not copies, f"copies of the input: {copies}"
    assert s.stride() == x.stride() and h.stride() == x.stride() and x.grad.stride() == x.stride()
    assert u.stride() == x.stride()[1:]
    x_r = x.detach().contiguous().requires_grad_()
    s_r, h_r, u_r = reference.lif_sequence(x_r, return_state=True, surrogate="atan")
    (s_r * w + h_r * w).sum().backward()
    assert torch.equal(s, s_r) and torch.equal(h, h_r) and torch.equal(u, u_r)
    torch.testing.assert_close(x.grad, x_r.grad, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("backend", [b for b, _ in BACKENDS if b != "cuda"])
def test_ops_reject_layouts_with_time_inside(backend):
    x = torch.zeros(4, 3).t()  # [3, 4] with time strided inside the neurons
    with pytest.raises((ValueError, RuntimeError), match="x must be dense with time outermost"):
        _raw_forward(backend)(x, None, 0.5, 1.0, 0.0, 0, 0, 1.0, False, False, False)


def test_16bit_gradients_do_not_depend_on_return_state():
    """The CPU backward recomputes the membrane in fp32 whether or not h was returned, so asking for the state
    changes no gradient (a backward from the stored 16-bit h would)."""
    x = _x("cpu", seed=3).to(torch.bfloat16)
    grads = []
    for return_state in (False, True):
        xx = x.clone().requires_grad_()
        out = fastlif.lif_sequence(xx, surrogate="sigmoid", return_state=return_state, backend="cpu")
        s = out[0] if return_state else out
        (s.float() * torch.arange(s.numel()).view(s.shape)).sum().backward()
        grads.append(xx.grad)
    assert torch.equal(*grads)


# ---- the CPU kernels' instruction set ----

ISA_ORDER = ("baseline", "avx2", "avx512")


def _cpu_flags() -> set:
    line = next(ln for ln in Path("/proc/cpuinfo").read_text().splitlines() if ln.startswith("flags"))
    return set(line.split(":", 1)[1].split())


def test_dispatched_isa_is_the_best_the_cpu_has():
    """The best the CPU has (Linux: /proc/cpuinfo), or the FASTLIF_CPU_ISA cap when this run sets a lower one."""
    flags = _cpu_flags()
    avx2 = {"avx2", "fma"} <= flags
    best = ("avx512" if avx2 and {"avx512f", "avx512bw", "avx512vl", "avx512dq"} <= flags
            else "avx2" if avx2 else "baseline")
    cap = os.environ.get("FASTLIF_CPU_ISA") or "avx512"
    assert fastlif.cpu_isa() == min(best, cap, key=ISA_ORDER.index)


def _run_child(code: str, isa: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, FASTLIF_CPU_ISA=isa)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300)


_CHILD = """
import torch, fastlif
x = (torch.randn(5, 3000, generator=torch.Generator().manual_seed(0)) + 0.5).requires_grad_()
s = fastlif.lif_sequence(x, surrogate="sigmoid", backend="cpu")
s.backward(torch.ones_like(s))
torch.save((fastlif.cpu_isa(), s, x.grad), "{path}")
"""


def test_isa_cap_from_the_environment_gives_the_same_results(tmp_path):
    results = {}
    for isa in ("baseline", fastlif.cpu_isa()):
        path = tmp_path / f"{isa}.pt"
        done = _run_child(_CHILD.format(path=path), isa)
        assert done.returncode == 0, done.stderr
        results[isa] = torch.load(path)
    assert results["baseline"][0] == "baseline"
    for a, b in zip(results["baseline"][1:], results[fastlif.cpu_isa()][1:]):
        assert torch.equal(a, b)  # the same math, every backward multiply-add fused on both: the same bits
    bad = _run_child("import fastlif", "sse9")
    assert bad.returncode != 0 and "FASTLIF_CPU_ISA must be avx512, avx2 or baseline" in bad.stderr


def test_isa_kernels_are_vectorised():
    """Disassemble the extension: each instruction-set copy of the kernels uses its own vector registers
    (ymm for AVX2, zmm for AVX-512) and the baseline copy none of them."""
    from fastlif import _C
    dump = subprocess.run(["objdump", "-d", "-C", "--no-show-raw-insn", _C.__file__], capture_output=True,
                          text=True, check=True).stdout
    bodies = {}
    for block in dump.split("\n\n"):
        # The OpenMP-outlined loop bodies; their cold (unlikely-path) parts hold no loops.
        m = re.search(r"<(?:void )?fastlif::(baseline|avx2|avx512)::.*_kernel<.*\._omp_fn\.\d+\]>:", block)
        if m:
            bodies.setdefault(m.group(1), []).append(block)
    assert set(bodies) == {"baseline", "avx2", "avx512"}
    assert all("ymm" in b for b in bodies["avx2"]) and any("zmm" in b for b in bodies["avx512"])
    assert not any("ymm" in b or "zmm" in b for b in bodies["baseline"])


def test_compiled_graph_keeps_the_contract(twin):
    """torch.compile(fullgraph=True, dynamic=True) traces the layout rule and the ops on a channels_last input: the
    graph's outputs and gradients are eager's, with x's strides."""
    backend, device = twin
    torch._dynamo.reset()

    layer = fastlif.LIFSequence(surrogate="sigmoid", backend=backend)

    def step(x):
        return layer(x, return_state=True)

    compiled = torch.compile(step, fullgraph=True, dynamic=True, backend="aot_eager")
    for T in (2, 3):
        x = _channels_last_steps(device, T=T).requires_grad_()
        s, h, u = compiled(x)
        (gx,) = torch.autograd.grad((s * 0.5 + h).sum() + u.sum(), x)
        x_e = x.detach().clone().requires_grad_()
        s_e, h_e, u_e = step(x_e)
        (gx_e,) = torch.autograd.grad((s_e * 0.5 + h_e).sum() + u_e.sum(), x_e)
        assert s.stride() == x.stride() and torch.equal(s, s_e) and torch.equal(h, h_e) and torch.equal(u, u_e)
        torch.testing.assert_close(gx, gx_e, rtol=1e-6, atol=1e-7)
