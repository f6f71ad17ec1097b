"""LIFSequence's shape errors say what happened and what to call instead of running with a misread shape."""
import pytest
import torch

import fastlif
from fastlif.neuron import LIFSequence


def test_1d_input_is_an_error_not_T_steps_of_one_neuron():
    with pytest.raises(ValueError, match=r"x: LIFSequence takes \[T, \.\.\.\].*1-D tensor of shape \(7,\).*x\[None\]"):
        LIFSequence()(torch.rand(7))


def test_stateful_layer_fed_a_new_batch_size_says_to_reset():
    lif = LIFSequence(stateful=True, backend="reference")
    lif(torch.rand(3, 4, 5))
    with pytest.raises(ValueError, match=r"carries the state of its previous call, shape \(4, 5\), but x has "
                                         r"\(2, 5\).*fastlif.reset_net\(model\)"):
        lif(torch.rand(3, 2, 5))
    fastlif.reset_net(lif)
    assert lif(torch.rand(3, 2, 5)).shape == (3, 2, 5)


@pytest.mark.parametrize("backend", ["reference", pytest.param("cpu", marks=pytest.mark.skipif(
    "cpu" not in fastlif.backends(), reason="CPU extension not built"))])
def test_batch_first_is_the_transposed_time_first_run(backend):
    torch.manual_seed(0)
    x = (2 * torch.randn(3, 5, 4)).requires_grad_()  # [B, T, N]
    s, h, u = LIFSequence(batch_first=True, backend=backend)(x, return_state=True)
    xt = x.detach().transpose(0, 1).contiguous().requires_grad_()
    st, ht, ut = LIFSequence(backend=backend)(xt, return_state=True)
    assert s.shape == h.shape == (3, 5, 4) and u.shape == (3, 4)
    assert torch.equal(s, st.transpose(0, 1)) and torch.equal(h, ht.transpose(0, 1)) and torch.equal(u, ut)
    g = torch.randn(3, 5, 4)
    s.backward(g)
    st.backward(g.transpose(0, 1))
    assert torch.equal(x.grad, xt.grad.transpose(0, 1))


def test_batch_first_stateful_continues_along_time():
    x = 2 * torch.randn(2, 6, 3)  # [B, T, N]
    whole = LIFSequence(batch_first=True, backend="reference")(x)
    chunked = LIFSequence(batch_first=True, stateful=True, backend="reference")
    assert torch.equal(torch.cat([chunked(x[:, :4]), chunked(x[:, 4:])], dim=1), whole)


def test_batch_first_must_be_a_bool():
    with pytest.raises(TypeError, match="batch_first must be a bool"):
        LIFSequence(batch_first="yes")


def _training_loop(lif, lin, steps=2, retain=False):
    for _ in range(steps):
        lif(lin(torch.randn(4, 2, 3))).sum().backward(retain_graph=retain)


@pytest.mark.parametrize("backend", ["reference", pytest.param("cpu", marks=pytest.mark.skipif(
    "cpu" not in fastlif.backends(), reason="CPU extension not built"))])
def test_stateful_training_loop_without_reset_names_reset_net_and_detach_state(backend):
    """forward, backward, forward again from the carried state: torch's "backward through the graph a second
    time" named neither fix; the second forward says what happened and what to call."""
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 3)
    with pytest.raises(RuntimeError, match=r"backward\(\) has already gone through.*fastlif.reset_net\(model\)"
                                           r".*detach_state=True"):
        _training_loop(LIFSequence(stateful=True, backend=backend), lin)


@pytest.mark.parametrize("backend", ["reference", pytest.param("cpu", marks=pytest.mark.skipif(
    "cpu" not in fastlif.backends(), reason="CPU extension not built"))])
def test_stateful_carried_state_that_backward_may_still_use_is_no_error(backend):
    lin = torch.nn.Linear(3, 3)
    _training_loop(LIFSequence(stateful=True, detach_state=True, backend=backend), lin)  # truncated BPTT
    _training_loop(LIFSequence(stateful=True, backend=backend), lin, retain=True)  # the graph was kept
    lif = LIFSequence(stateful=True, backend=backend)
    for _ in range(2):  # reset between iterations
        fastlif.reset_net(lif)
        _training_loop(lif, lin, steps=1)
    with torch.no_grad():  # inference from the carried (backwarded) state needs no graph
        lif(lin(torch.randn(4, 2, 3)))


def test_stateful_model_training_without_reset_net_says_so():
    from fastlif import models

    torch.manual_seed(0)
    model = models.get("digits_cnn", T=2, neuron=dict(stateful=True, backend="reference"))
    x = torch.rand(3, 1, 8, 8)
    model(x).sum().backward()
    with pytest.raises(RuntimeError, match=r"fastlif.reset_net\(model\)"):
        model(x).sum().backward()
    fastlif.reset_net(model)
    model(x).sum().backward()
