"""Non-finite input behaves the same on every backend (docs/equations.md, "Non-finite input"): +inf fires and, with
a hard reset, resets to v_reset (the kernels' select; the reference used to give NaN); -inf never fires and stays
-inf; NaN never fires and its state stays NaN. The gradients of a neuron fed a non-finite value are not meaningful
(NaN on some steps; 0·NaN lands differently in each backend's arithmetic), but every other neuron's are unchanged."""
import pytest
import torch

import fastlif
from lif_testing import BACKENDS

INF, NAN = float("inf"), float("nan")


def inputs(bad):
    x = torch.full((4, 5), 0.6)
    x[0, 0], x[1, 1], x[2, 2] = bad, bad, bad  # the bad value at different steps of three neurons
    return x


def run(backend, device, x, **kw):
    x = x.to(device).requires_grad_()
    s, h, u = fastlif.lif_sequence(x, backend=backend, return_state=True, **kw)
    gs, = torch.autograd.grad((s * torch.arange(1.0, 6.0, device=device)).sum(), x, retain_graph=True)
    gu, = torch.autograd.grad(u.sum(), x)
    return [t.detach().cpu() for t in (s, h, u, gs, gu)]


@pytest.mark.parametrize("backend, device", BACKENDS)
@pytest.mark.parametrize("bad", [INF, -INF, NAN])
@pytest.mark.parametrize("reset, detach_reset", [("hard", False), ("hard", True), ("soft", False)])
def test_nonfinite_input_agrees_with_the_reference(backend, device, bad, reset, detach_reset):
    x = inputs(bad)
    ref = run("reference", "cpu", x, reset=reset, detach_reset=detach_reset)
    got = run(backend, device, x, reset=reset, detach_reset=detach_reset)
    names = ("spikes", "h", "state", "grad via spikes", "grad via state")
    for name, r, g in list(zip(names, ref, got))[:3]:
        torch.testing.assert_close(g, r, equal_nan=True, msg=name)
    for name, r, g in zip(names, ref, got):  # the clean neurons 3, 4: finite and equal whatever the others hold
        assert torch.isfinite(r[..., 3:]).all(), name
        torch.testing.assert_close(g[..., 3:], r[..., 3:], msg=name)
    if bad == INF:
        assert ref[0][0, 0] == 1 and ref[0][1, 1] == 1
        if reset == "hard":
            assert ref[2][0] == 0.0 or ref[2][0] == 1.0  # a finite state: reset to 0 at step 1, then recharged
            assert torch.isfinite(ref[2][:3]).all()
