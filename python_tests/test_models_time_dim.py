"""The models' shape convention: time first, checked against the T a model was built for; ``batch_first=True``."""
import pytest
import torch

import fastlif
from fastlif import models

NEURON = dict(backend="cpu" if "cpu" in fastlif.backends() else "reference")


def test_batch_first_events_into_a_time_first_model_are_an_error():
    """vggsnn built for T=4 read [8, 4, 2, 48, 48] as 8 steps of 4 samples and returned [8, 4, 10]."""
    model = models.get("vggsnn", T=4, neuron=NEURON)
    with pytest.raises(ValueError, match=r"built for T = 4 steps.*\(8, 4, 2, 48, 48\) has 8 along dim 0.*"
                                         r"batch-first \[B, T, C, H, W\].*x.transpose\(0, 1\).*batch_first=True"):
        model(torch.rand(8, 4, 2, 48, 48))


@pytest.mark.parametrize("name", ["digits_cnn", "window_snn_tiny"])
def test_batch_first_model_is_the_transposed_time_first_model(name):
    torch.manual_seed(0)
    time_first = models.get(name, in_channels=2, T=3, neuron=NEURON).eval()
    batch_first = models.get(name, in_channels=2, T=3, neuron=NEURON, batch_first=True).eval()
    batch_first.load_state_dict(time_first.state_dict())
    frames = (torch.rand(5, 3, 2, 8, 8) < 0.3).float()  # [B, T, C, H, W]
    static = torch.rand(5, 2, 8, 8)
    with torch.no_grad():
        out = batch_first(frames)
        assert out.shape == (5, 3, 10)
        torch.testing.assert_close(out, time_first(frames.transpose(0, 1)).transpose(0, 1))
        torch.testing.assert_close(batch_first(frames, T=2), out[:, :2])
        torch.testing.assert_close(batch_first(static), time_first(static).transpose(0, 1))


def test_time_first_events_into_a_batch_first_model_are_an_error():
    model = models.get("digits_cnn", in_channels=2, T=3, neuron=NEURON, batch_first=True)
    with pytest.raises(ValueError, match=r"has 5 along dim 1.*batch_first=True.*time-first.*batch_first=False"):
        model(torch.rand(3, 5, 2, 8, 8))


@pytest.mark.parametrize("name", models.names())
def test_every_model_takes_batch_first(name):
    assert models.get(name, batch_first=True).batch_first is True
    with pytest.raises(TypeError, match="batch_first must be a bool"):
        models.get(name, batch_first=1)


def test_batch_first_is_a_model_option_not_a_neuron_option():
    with pytest.raises(TypeError, match="neuron: batch_first is an option of the model"):
        models.get("digits_cnn", neuron=dict(batch_first=True))
