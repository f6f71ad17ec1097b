"""The model registry: every name builds through ``fastlif.models.get`` and honours the model contract."""
import pytest
import torch

from fastlif import models


def test_registry_names_cover_the_three_seeds():
    assert {"resnet19", "vggsnn", "snn5", "spiking_resnet34", "sew_resnet34", "digits_cnn", "window_snn",
            "window_snn_tiny", "window_snn_gru"} <= set(models.names())


def test_window_snn_from_the_registry_follows_the_contract():
    torch.manual_seed(0)
    model = models.get("window_snn_tiny", num_classes=10).eval()
    out = model(torch.rand(2, 1, 8, 8))
    assert out.shape == (1, 2, 10)
    assert torch.isfinite(out).all()


def test_unknown_model_is_named():
    with pytest.raises(ValueError, match="unknown model 'resnet20'"):
        models.get("resnet20")
    with pytest.raises(TypeError, match="name must be a string"):
        models.builder(19)


def test_trainer_builds_a_registered_window_snn(tmp_path):
    """Names the registry maps to other functions (window_snn_* → spiking_mixer_*) reach the trainer too."""
    from fastlif.commands.main import main

    rc = main(["train", "--model", "window_snn_tiny", "--data", "digits", "-T", "1", "--epochs", "1",
               "--out", str(tmp_path)])
    assert rc == 0
    rows = (tmp_path / "latency.csv").read_text().strip().splitlines()
    assert len(rows) >= 2
    accuracy = float(rows[1].split(",")[-1])  # a fraction; chance is 0.1
    assert 0.2 < accuracy <= 1.0
