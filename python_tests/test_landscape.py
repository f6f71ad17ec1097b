"""Loss landscapes: filter-normalised directions, the surface at the origin is the model's loss, weights restored."""
import pytest
import torch
from torch import nn

from fastlif import LIFSequence
from fastlif.landscape import random_direction, surface_1d, surface_2d
from fastlif.losses import sdt_loss, tet_loss


def tiny_net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Linear(4, 8), LIFSequence(), nn.Linear(8, 3))


def data():
    g = torch.Generator().manual_seed(1)
    x = 3 * torch.rand(5, 6, 4, generator=g)          # [T=5, B=6, 4]
    y = torch.randint(0, 3, (6,), generator=g)
    return [(x[:, :3], y[:3]), (x[:, 3:], y[3:])]


def run_steps(model, x, t):
    return model(x[:t])


def test_direction_is_normalised_per_filter():
    conv, lin = nn.Conv2d(2, 4, 3), nn.Linear(5, 3)
    model = nn.Sequential(conv, nn.Flatten(), lin)
    d = random_direction(model, torch.Generator().manual_seed(0))
    assert [t.shape for t in d] == [p.shape for p in model.parameters()]
    torch.testing.assert_close(d[0].flatten(1).norm(dim=1), conv.weight.detach().flatten(1).norm(dim=1))
    torch.testing.assert_close(d[2].norm(dim=1), lin.weight.detach().norm(dim=1))
    assert not d[0].equal(conv.weight) and torch.count_nonzero(d[1]) == 0 and torch.count_nonzero(d[3]) == 0
    d_bias = random_direction(model, torch.Generator().manual_seed(0), ignore_1d=False)
    torch.testing.assert_close(d_bias[1].norm(), conv.bias.detach().norm())


@pytest.mark.parametrize("loss_fn", [sdt_loss, tet_loss])
def test_surface_at_origin_is_the_model_loss(loss_fn):
    model, batches = tiny_net(), data()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    t = 3
    with torch.no_grad():
        expect = sum(float(loss_fn(model(x[:t]), y)) * len(y) for x, y in batches) / 6
    losses, acc = surface_1d(model, batches, loss_fn, t, [-1.0, 0.0, 0.5], seed=2, forward=run_steps)
    assert losses.shape == (3,) and acc.shape == (3,)
    assert float(losses[1]) == pytest.approx(expect, rel=1e-6)
    assert float(losses[0]) != pytest.approx(expect)          # moving along d changes the loss
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())


def test_latency_changes_the_curve_and_2d_matches_1d_on_its_axis():
    model, batches = tiny_net(), data()
    g = torch.Generator().manual_seed(3)
    d1, d2 = random_direction(model, g), random_direction(model, g)
    alphas = [-0.5, 0.0, 0.5]
    l1, _ = surface_1d(model, batches, tet_loss, 1, alphas, direction=d1, forward=run_steps)
    l5, _ = surface_1d(model, batches, tet_loss, 5, alphas, direction=d1, forward=run_steps)
    assert not torch.allclose(l1, l5)
    grid, acc = surface_2d(model, batches, tet_loss, 5, alphas, [0.0, 0.25], directions=(d1, d2), forward=run_steps)
    assert grid.shape == (3, 2) and acc.shape == (3, 2)
    torch.testing.assert_close(grid[:, 0], l5)
    assert ((acc >= 0) & (acc <= 1)).all()


def test_bad_arguments():
    model = tiny_net()
    with pytest.raises(ValueError, match="t"):
        surface_1d(model, data(), tet_loss, 0, [0.0], forward=run_steps)
    with pytest.raises(ValueError, match="directions"):
        surface_1d(model, data(), tet_loss, 1, [0.0], direction=[torch.zeros(1)], forward=run_steps)
    with pytest.raises(ValueError, match="no samples"):
        surface_1d(model, [], tet_loss, 1, [0.0], forward=run_steps)
    with pytest.raises(TypeError, match="model"):
        random_direction("model")


def test_landscape_command_1d_and_2d(tmp_path, capsys):
    import csv

    from fastlif.commands.main import main
    from fastlif.data import get_dataset
    from fastlif.losses import make_loss
    from fastlif.train.checkpoint import save_checkpoint
    from fastlif.train.config import TrainConfig
    from fastlif.train.trainer import build_model

    cfg = TrainConfig(model="digits_cnn", data="event-digits", data_kwargs={"T": 3, "limit": 8}, T=3, loss="sdt")
    bundle = get_dataset(cfg.data, None, **cfg.data_kwargs)
    torch.manual_seed(0)
    model = build_model(cfg, bundle).eval()
    path = save_checkpoint({"format": 1, "config": cfg.to_dict(), "model": model.state_dict()},
                           tmp_path / "run" / "checkpoint.pt")
    out = tmp_path / "land"
    args = ["landscape", "--checkpoint", str(path), "--limit", "8", "--steps", "3", "--out", str(out)]
    assert main(args + ["-t", "3", "-t", "1"]) == 0
    rows = list(csv.DictReader(open(out / "landscape_1d.csv")))
    assert [float(r["alpha"]) for r in rows] == [-1.0, 0.0, 1.0]
    x, y = bundle.test[:8]
    with torch.no_grad():
        O = model(bundle.prepare(x, False, None).transpose(0, 1), T=3)
    loss_fn = make_loss("sdt")
    assert float(rows[1]["loss_t=3"]) == pytest.approx(float(loss_fn(O, y)), rel=1e-6)
    assert float(rows[1]["loss_t=1"]) == pytest.approx(float(loss_fn(O[:1], y)), rel=1e-6)
    assert (out / "landscape_1d.png").stat().st_size > 1000
    assert main(args + ["--dim", "2"]) == 0
    grid = list(csv.DictReader(open(out / "landscape_2d.csv")))
    assert len(grid) == 9
    assert float(grid[4]["loss"]) == pytest.approx(float(loss_fn(O, y)), rel=1e-6)
    assert main(args + ["--span", "0"]) == 2
    assert "--span" in capsys.readouterr().err
