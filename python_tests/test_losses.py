"""SDT / TET / MSE losses on hand-made outputs O [T, B, classes] (SPEC §4) and the SLT expectation (SPEC §5)."""
import math

import pytest
import torch

from fastlif.losses import make_loss, mse_regularizer, sdt_loss, slt_tet_weights, tet_loss


def ce(logits, label):
    """Cross-entropy of one sample by hand: log Σ exp(z) − z[label]."""
    return math.log(sum(math.exp(z) for z in logits)) - logits[label]


# T = 2, B = 2, 3 classes, chosen so every step and the average differ.
O = torch.tensor([[[2.0, 0.0, 0.0], [0.0, 1.0, 0.0]],
                  [[0.0, 0.0, 4.0], [0.0, 3.0, 1.0]]])
y = torch.tensor([0, 1])


def test_sdt_loss_is_ce_of_the_time_average():
    mean0, mean1 = [1.0, 0.0, 2.0], [0.0, 2.0, 0.5]
    expected = (ce(mean0, 0) + ce(mean1, 1)) / 2
    assert sdt_loss(O, y).item() == pytest.approx(expected, rel=1e-6)


def test_tet_loss_is_mean_of_per_step_ce():
    per_step = [(ce([2, 0, 0], 0) + ce([0, 1, 0], 1)) / 2, (ce([0, 0, 4], 0) + ce([0, 3, 1], 1)) / 2]
    assert tet_loss(O, y, lam=0.0).item() == pytest.approx(sum(per_step) / 2, rel=1e-6)


def test_tet_total_adds_lambda_weighted_mse_over_all_elements():
    lam, phi = 0.25, 1.0
    mse = sum((v - phi) ** 2 for v in O.flatten().tolist()) / O.numel()
    assert mse_regularizer(O, phi).item() == pytest.approx(mse, rel=1e-6)
    expected = (1 - lam) * tet_loss(O, y, lam=0.0).item() + lam * mse
    assert tet_loss(O, y, lam=lam, phi=phi).item() == pytest.approx(expected, rel=1e-6)
    # phi moves the MSE target
    assert mse_regularizer(O, 0.0).item() == pytest.approx(O.pow(2).mean().item(), rel=1e-6)


def test_tet_at_least_sdt_on_random_outputs():
    """TET lemma 4.1: CE is convex in the logits, so the mean of per-step CEs bounds the CE of the mean."""
    g = torch.Generator().manual_seed(0)
    for trial in range(50):
        T, B, C = 1 + trial % 6, 1 + trial % 5, 2 + trial % 7
        O_r = torch.randn(T, B, C, generator=g) * (1 + trial % 4)
        y_r = torch.randint(0, C, (B,), generator=g)
        assert tet_loss(O_r, y_r, lam=0.0).item() >= sdt_loss(O_r, y_r).item() - 1e-6


def test_single_step_tet_equals_sdt():
    O1 = torch.randn(1, 4, 5, generator=torch.Generator().manual_seed(1))
    y1 = torch.tensor([0, 1, 2, 3])
    assert tet_loss(O1, y1, lam=0.0).item() == pytest.approx(sdt_loss(O1, y1).item(), rel=1e-6)


def test_losses_backpropagate_to_every_step():
    Og = O.clone().requires_grad_(True)
    tet_loss(Og, y, lam=0.05).backward()
    assert torch.all(Og.grad.abs().sum(-1) > 0)


def test_slt_tet_expectation_weights():
    """Averaging L_TET(t) over t = 1..T equals Σ c(t) CE(O[t]) with c(t) = (1/T) Σ_{i>=t} 1/i (SPEC §5)."""
    T, B, C = 5, 3, 4
    g = torch.Generator().manual_seed(2)
    O_r = torch.randn(T, B, C, generator=g, dtype=torch.float64)
    y_r = torch.randint(0, C, (B,), generator=g)
    c = slt_tet_weights(T)
    assert c.sum().item() == pytest.approx(1.0)
    assert c[0].item() == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4 + 1 / 5) / 5)
    assert c[-1].item() == pytest.approx(1 / 25)
    assert torch.all(c[:-1] > c[1:])  # earlier steps weigh more than TET's uniform 1/T
    expectation = sum(tet_loss(O_r[:t], y_r, lam=0.0).item() for t in range(1, T + 1)) / T
    per_step = torch.stack([torch.nn.functional.cross_entropy(O_r[t].float(), y_r) for t in range(T)])
    assert expectation == pytest.approx(float((c.float() * per_step).sum()), rel=1e-5)


def test_make_loss_by_name():
    assert make_loss("sdt")(O, y).item() == pytest.approx(sdt_loss(O, y).item())
    assert make_loss("tet", lam=0.1)(O, y).item() == pytest.approx(tet_loss(O, y, lam=0.1).item())


@pytest.mark.parametrize("bad_O, bad_y, match", [
    (torch.zeros(2, 3), torch.zeros(2, dtype=torch.long), "O"),
    (torch.zeros(0, 2, 3), torch.zeros(2, dtype=torch.long), "O"),
    (torch.zeros(2, 2, 3), torch.zeros(3, dtype=torch.long), "y"),
    (torch.zeros(2, 2, 3), torch.zeros(2, 1, dtype=torch.long), "y"),
])
def test_bad_shapes_name_the_argument(bad_O, bad_y, match):
    with pytest.raises(ValueError, match=match):
        tet_loss(bad_O, bad_y)
    with pytest.raises(ValueError, match=match):
        sdt_loss(bad_O, bad_y)


def test_bad_values_are_rejected():
    with pytest.raises(TypeError, match="y"):
        sdt_loss(O, y.float())
    with pytest.raises(ValueError, match="lam"):
        tet_loss(O, y, lam=1.5)
    with pytest.raises(ValueError, match="loss"):
        make_loss("mse")
    with pytest.raises(ValueError, match="T"):
        slt_tet_weights(0)
