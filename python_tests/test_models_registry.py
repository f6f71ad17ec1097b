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


# One CNN and one window SNN, both built for the embedded 8x8 digits: the contract must not depend on the family.
CONTRACT_MODELS = ["digits_cnn", "window_snn_tiny"]


@pytest.mark.parametrize("name", CONTRACT_MODELS)
def test_one_model_contract_event_input_and_T(name):
    from fastlif.nn import SpikingNet

    torch.manual_seed(0)
    model = models.get(name, num_classes=4, T=3).eval()
    assert isinstance(model, SpikingNet)
    frames = torch.rand(3, 2, 1, 8, 8)
    with torch.no_grad():
        full = model(frames)
        first_two = model(frames, T=2)  # the first T frames, as for every model
        static = model(frames[0])  # the model's own T
    assert full.shape == (3, 2, 4) and static.shape == (3, 2, 4)
    torch.testing.assert_close(first_two, full[:2])
    with pytest.raises(ValueError, match="T = 4 exceeds the 3 frames"):
        model(frames, T=4)


@pytest.mark.parametrize("name", CONTRACT_MODELS)
def test_one_model_contract_neuron_options(name):
    from fastlif import LIFSequence

    opts = dict(decay=0.3, threshold=0.6, reset="soft", v_reset=0.1, detach_reset=True, surrogate="atan",
                backend="reference")
    model = models.get(name, num_classes=4, neuron=opts)
    neurons = [m for m in model.modules() if isinstance(m, LIFSequence)]
    assert neurons
    for n in neurons:
        c = n.cfg
        assert (c.decay, c.threshold, c.reset, c.v_reset, c.detach_reset, c.surrogate.name, n.backend) == (
            0.3, 0.6, "soft", 0.1, True, "atan", "reference")
    with pytest.raises(TypeError, match="neuron has an option LIFSequence does not take"):
        models.get(name, num_classes=4, neuron=dict(beta=0.5))
    with pytest.raises(TypeError, match="neuron must be a dict"):
        models.get(name, num_classes=4, neuron="lif")
