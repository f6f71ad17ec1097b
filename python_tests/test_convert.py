"""fastlif.convert on SpikingJelly and snnTorch models: the same spikes (bit-equal where the arithmetic is the same),
gradients of the input and of every parameter within fp32 tolerance, learned parameters moved over (the same
objects), the modules it cannot convert named; and PLIF training end to end."""
import copy
import math

import pytest
import torch
from torch import nn

import fastlif
from fastlif import reference

sj = pytest.importorskip("spikingjelly.activation_based")
from spikingjelly.activation_based import functional, layer, neuron  # noqa: E402

snn = pytest.importorskip("snntorch")
from snntorch import utils as snn_utils  # noqa: E402

BACKENDS = ["reference"] + (["cpu"] if fastlif.ops.LOAD_ERROR is None else [])


def _sj_net(node):
    return nn.Sequential(
        layer.Conv2d(2, 4, 3, padding=1, bias=False, step_mode="m"), layer.BatchNorm2d(4, step_mode="m"), node,
        layer.Conv2d(4, 4, 3, padding=1, bias=False, step_mode="m"), layer.BatchNorm2d(4, step_mode="m"),
        copy.deepcopy(node), layer.Flatten(step_mode="m"), layer.Linear(4 * 6 * 6, 3, step_mode="m"))


SJ_NODES = {
    "LIFNode": lambda: neuron.LIFNode(step_mode="m"),
    "LIFNode-soft-atan": lambda: neuron.LIFNode(step_mode="m", v_reset=None, tau=4.0,
                                                surrogate_function=sj.surrogate.ATan()),
    "LIFNode-no-decay-input": lambda: neuron.LIFNode(step_mode="m", decay_input=False, detach_reset=True),
    "ParametricLIFNode": lambda: neuron.ParametricLIFNode(step_mode="m", init_tau=3.0),
    "IFNode": lambda: neuron.IFNode(step_mode="m"),
}


def _run(net, x):
    x = x.detach().clone().requires_grad_()
    out = net(x)
    (out * torch.linspace(-1, 1, out.shape[-1])).sum().backward()
    return out, x.grad, {n: p.grad.clone() for n, p in net.named_parameters()}


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("node", list(SJ_NODES))
def test_spikingjelly_models_convert_with_equal_outputs_and_gradients(node, backend):
    """conv→BN→neuron twice, then a linear readout: the converted model's outputs equal SpikingJelly's bit for
    bit (τ = 2 and 4 are powers of two, PLIF multiplies by sigmoid(w) as SpikingJelly does, IF adds) — except
    decay_input=False, whose u − u/τ fastlif computes as (1 − 1/τ)·u: equal to rounding. Gradients of the input
    and of every parameter (PLIF's w included) agree to fp32 rounding."""
    torch.manual_seed(0)
    theirs = _sj_net(SJ_NODES[node]())
    ours = fastlif.convert(copy.deepcopy(theirs), backend=backend)
    assert sum(isinstance(m, fastlif.LIFSequence) for m in ours.modules()) == 2
    x = torch.randn(4, 3, 2, 6, 6) * 2.0 + 0.5
    out_t, gx_t, gp_t = _run(theirs, x)
    out_o, gx_o, gp_o = _run(ours, x)
    exact = node != "LIFNode-no-decay-input"
    if exact:
        assert torch.equal(out_t, out_o)
    else:
        torch.testing.assert_close(out_o, out_t, rtol=1e-4, atol=1e-4)
    assert set(gp_t) == set(gp_o)
    scale = max(gx_t.abs().max().item(), 1e-3)
    torch.testing.assert_close(gx_o, gx_t, rtol=1e-4, atol=1e-4 * scale)
    for name in gp_t:
        scale = max(gp_t[name].abs().max().item(), 1e-3)
        torch.testing.assert_close(gp_o[name], gp_t[name], rtol=1e-4, atol=1e-4 * scale, msg=name)
    # The membrane is carried across calls until reset_net, as SpikingJelly's memory modules do.
    functional.reset_net(theirs)
    fastlif.reset_net(ours)
    with torch.no_grad():
        for _ in range(2):
            a, b = theirs(x), ours(x)
            assert torch.equal(a, b) if exact else torch.allclose(a, b, atol=1e-4)


@pytest.mark.parametrize("backend", BACKENDS)
def test_plif_parity_with_spikingjelly_on_random_inputs(backend):
    """ParametricLIFNode alone, per-step spikes bit-equal and dL/dw, dL/dx within fp32 rounding."""
    torch.manual_seed(1)
    theirs = neuron.ParametricLIFNode(step_mode="m", init_tau=2.5)
    ours = fastlif.ParametricLIF(2.5, surrogate=fastlif.surrogate.Sigmoid(4.0), fire_ge=True, backend=backend)
    with torch.no_grad():
        theirs.w.fill_(0.37)
        ours.w.fill_(0.37)
    x = torch.randn(16, 8, 64) * 1.5
    xt, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    st, so = theirs(xt), ours(xo)
    assert torch.equal(st, so)
    gw = torch.randn_like(st)
    (st * gw).sum().backward()
    (so * gw).sum().backward()
    torch.testing.assert_close(xo.grad, xt.grad, rtol=1e-5, atol=1e-6)
    torch.testing.assert_close(ours.w.grad, theirs.w.grad, rtol=1e-4, atol=1e-6)


def _snn_net(**leaky):
    torch.manual_seed(2)
    net = nn.Sequential(nn.Linear(10, 16), snn.Leaky(beta=0.8, init_hidden=True, **leaky),
                        nn.Linear(16, 4), snn.Leaky(beta=0.6, init_hidden=True, **leaky))
    with torch.no_grad():  # weights large enough that both layers spike
        for lin in (net[0], net[2]):
            lin.weight.mul_(3.0)
    return net


@pytest.mark.parametrize("backend", BACKENDS)
@pytest.mark.parametrize("leaky", [dict(), dict(reset_mechanism="zero"),
                                   dict(learn_beta=True, learn_threshold=True, threshold=0.7)],
                         ids=["subtract", "zero", "learnable"])
def test_snntorch_leaky_network_converts(leaky, backend):
    """snnTorch runs the network one step per call; the converted one takes the whole [T, ...] sequence at once
    and gives the same spikes (bit for bit) and gradients — learnable beta and threshold included, moved over as
    the same Parameters."""
    theirs = _snn_net(**leaky)
    ours = fastlif.convert(copy.deepcopy(theirs), backend=backend)
    x = torch.randn(12, 5, 10) * 1.5
    xt, xo = x.clone().requires_grad_(), x.clone().requires_grad_()
    snn_utils.reset(theirs)
    st = torch.stack([theirs(xt[t]) for t in range(x.shape[0])])
    so = ours(xo)
    assert torch.equal(st, so) and 0.02 < so.mean().item() < 0.9
    w = torch.randn_like(st)
    (st * w).sum().backward()
    (so * w).sum().backward()
    torch.testing.assert_close(xo.grad, xt.grad, rtol=1e-5, atol=1e-6)
    gt = {n: p.grad for n, p in theirs.named_parameters()}
    go = {n.replace("decay_param", "beta").replace("threshold_param", "threshold"): p.grad
          for n, p in ours.named_parameters()}
    assert set(gt) == set(go)
    for name in gt:
        torch.testing.assert_close(go[name], gt[name], rtol=1e-4, atol=1e-5, msg=name)


def test_unconvertible_neurons_are_named():
    model = nn.Sequential(neuron.LIFNode(step_mode="s"), neuron.LIFNode(step_mode="m"),
                          neuron.LIFNode(step_mode="m", v_reset=-0.1), snn.Leaky(beta=0.5))
    with pytest.warns(UserWarning, match=r"(?s)left these neurons.*0 \(LIFNode\): step_mode='s'.*"
                                         r"2 \(LIFNode\): v_reset=-0.1.*3 \(Leaky\): only init_hidden=True"):
        converted, report = fastlif.convert(copy.deepcopy(model), report=True)
    assert report.converted == [("1", "LIFNode")] and [name for name, _, _ in report.left] == ["0", "2", "3"]
    assert isinstance(converted[1], fastlif.LIFSequence) and isinstance(converted[0], neuron.LIFNode)
    with pytest.raises(ValueError, match="step_mode='s'"):
        fastlif.convert(copy.deepcopy(model), strict=True)
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        fastlif.convert("model")


def test_plif_trains_end_to_end():
    """A per-channel PLIF layer with a learnable threshold: the loss falls and the learned τ moves (toward the
    shorter memory this task rewards)."""
    torch.manual_seed(3)
    T, B, C = 8, 32, 4
    neuron_ = fastlif.ParametricLIF(4.0, shape=(C, 1), learn_threshold=True, surrogate="sigmoid")
    model = nn.ModuleDict({"neuron": neuron_, "readout": nn.Linear(C * 3, 2)})
    opt = torch.optim.Adam(model.parameters(), lr=0.05)
    # Class 1 = a burst in the LAST step; class 0 = the same burst at the first: a short τ separates them.
    y = torch.randint(0, 2, (B,))
    x = torch.zeros(T, B, C, 3)
    x[0, y == 0] = 6.0  # 6/τ above the threshold: the burst step spikes
    x[-1, y == 1] = 6.0
    x = x + 0.1 * torch.randn_like(x)
    tau0 = neuron_.tau.detach().clone()
    losses = []
    for _ in range(40):
        s = neuron_(x)
        logits = model["readout"](s[-2:].mean(0).flatten(1))
        loss = nn.functional.cross_entropy(logits, y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < 0.5 * losses[0]
    assert (neuron_.tau.detach() - tau0).abs().max() > 0.05
    assert neuron_.threshold_param.grad is not None and neuron_.w.grad.shape == (C, 1)


def test_plif_compiles_fullgraph():
    """torch.compile(fullgraph=True) traces the per-neuron parameters through the ops (fake kernels)."""
    if fastlif.ops.LOAD_ERROR is not None:
        pytest.skip("the compiled extension is not built")
    torch._dynamo.reset()
    m = fastlif.ParametricLIF(2.0, shape=(3, 1), learn_threshold=True, backend="cpu")
    x = torch.randn(4, 2, 3, 5) + 0.5
    compiled = torch.compile(lambda x: m(x, return_state=True), fullgraph=True, backend="aot_eager")
    s, h, u = compiled(x)
    (s.sum() + h.sum() + u.sum()).backward()
    grads = [m.w.grad.clone(), m.threshold_param.grad.clone()]
    m.zero_grad()
    s_e, h_e, u_e = m(x, return_state=True)
    (s_e.sum() + h_e.sum() + u_e.sum()).backward()
    assert torch.equal(s, s_e) and torch.equal(h, h_e)
    torch.testing.assert_close(grads[0], m.w.grad)
    torch.testing.assert_close(grads[1], m.threshold_param.grad)
