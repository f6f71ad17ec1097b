"""`fastlif energy` on a small checkpoint: the per-latency table, CSV and plot."""
import csv

import pytest
import torch

from fastlif.commands.main import main
from fastlif.data import get_dataset
from fastlif.train.checkpoint import save_checkpoint
from fastlif.train.config import TrainConfig
from fastlif.train.trainer import build_model


@pytest.fixture
def checkpoint(tmp_path):
    cfg = TrainConfig(model="digits_cnn", data="event-digits", data_kwargs={"T": 3, "limit": 12}, T=3)
    bundle = get_dataset(cfg.data, None, **cfg.data_kwargs)
    torch.manual_seed(0)
    model = build_model(cfg, bundle)
    path = save_checkpoint({"format": 1, "config": cfg.to_dict(), "model": model.state_dict()},
                           tmp_path / "run" / "checkpoint.pt")
    return path, model, bundle


def test_energy_command_writes_table_csv_and_plot(checkpoint, tmp_path, capsys):
    path, model, bundle = checkpoint
    out = tmp_path / "energy"
    assert main(["energy", "--checkpoint", str(path), "--limit", "10", "--batch-size", "4", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "equivalent ANN" in printed and "E_SNN uJ" in printed
    rows = list(csv.DictReader(open(out / "energy.csv")))
    assert [int(r["t"]) for r in rows] == [1, 2, 3]
    # accuracy of the running-mean readout, recomputed from a direct forward pass of the same weights
    model.eval()
    x, y = bundle.test[:10]
    with torch.no_grad():
        O = model(bundle.prepare(x, False, None).transpose(0, 1), T=3)
    mean = O.cumsum(0) / torch.arange(1, 4)[:, None, None]
    expect = (mean.argmax(-1) == y).float().mean(1)
    assert [float(r["accuracy"]) for r in rows] == pytest.approx(expect.tolist(), abs=1e-6)
    for r in rows:
        assert float(r["energy_pj"]) == pytest.approx(4.6 * float(r["macs"]) + 0.9 * float(r["sops"]), rel=1e-5)
        assert float(r["energy_neuro_pj"]) == pytest.approx(0.077 * float(r["sops"]), rel=1e-5)
    assert [float(r["macs"]) for r in rows] == pytest.approx([1 * float(rows[0]["macs"]), 2 * float(rows[0]["macs"]),
                                                             3 * float(rows[0]["macs"])])
    assert (out / "energy.png").stat().st_size > 1000
    rates = list(csv.DictReader(open(out / "firing_rates.csv")))
    assert [r["layer"] for r in rates] == ["features.1", "features.3"]   # digits_cnn's two LIF layers
    for r in rates:
        per_step = [float(r[f"t{t}"]) for t in (1, 2, 3)]
        assert all(0.0 <= v <= 1.0 for v in per_step)
        assert float(r["mean"]) == pytest.approx(sum(per_step) / 3, abs=1e-6)


def test_energy_command_usage_errors(checkpoint, tmp_path, capsys):
    assert main(["energy", "--checkpoint", str(tmp_path / "nothing.pt")]) == 2
    assert "no checkpoint" in capsys.readouterr().err
    path, _, _ = checkpoint
    assert main(["energy", "--checkpoint", str(tmp_path / "run"), "-T", "5", "--out", str(tmp_path / "e")]) == 2
    err = capsys.readouterr().err
    assert "3 frames" in err and "5 steps" in err
    # a wrong type in a data option is a usage error too (TypeError under the checks' policy), not a traceback
    assert main(["energy", "--checkpoint", str(tmp_path / "run"), "--data-arg", "limit=many"]) == 2
    assert "limit: expected an integer" in capsys.readouterr().err


def test_energy_command_on_the_window_snn_prices_its_real_valued_layers_as_macs(tmp_path, capsys):
    cfg = TrainConfig(model="window_snn_tiny", data="event-digits", data_kwargs={"T": 2, "limit": 12, "size": 8}, T=2)
    bundle = get_dataset(cfg.data, None, **cfg.data_kwargs)
    torch.manual_seed(0)
    model = build_model(cfg, bundle)
    path = save_checkpoint({"format": 1, "config": cfg.to_dict(), "model": model.state_dict()},
                           tmp_path / "run" / "checkpoint.pt")
    out = tmp_path / "energy"
    assert main(["energy", "--checkpoint", str(path), "--limit", "6", "--batch-size", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "equivalent ANN" in printed
    rows = list(csv.DictReader(open(out / "energy.csv")))
    assert [int(r["t"]) for r in rows] == [1, 2]
    sops = [float(r["sops"]) for r in rows]
    assert 0 < sops[0] < sops[1]            # every frame is a pass of its own: the cell's spikes add up over t
    # MACs per sample and step of the layers fed real values (stem, MLPs, patch merging, head) for an 8×8
    # 2-channel input: widths 16, 32, 64 on maps 8, 4, 2, two blocks per stage, MLP ratio 3, 10 classes
    stem = 8 * 8 * 16 * 2
    mlps = sum(2 * side * side * (d * 3 * d + 3 * d * d) for side, d in ((8, 16), (4, 32), (2, 64)))
    merging = 4 * 4 * (4 * 16) * 32 + 2 * 2 * (4 * 32) * 64
    per_step = stem + mlps + merging + 64 * 10
    assert [float(r["macs"]) for r in rows] == pytest.approx([per_step, 2 * per_step])
    for r in rows:
        assert float(r["energy_pj"]) == pytest.approx(4.6 * float(r["macs"]) + 0.9 * float(r["sops"]), rel=1e-6)
    assert (out / "energy.png").stat().st_size > 1000
