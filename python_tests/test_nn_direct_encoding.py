"""Input encoding (fastlif/nn/direct_encoding.py) and the non-spiking readout (fastlif/nn/readout.py)."""
import pytest
import torch

from fastlif.nn import Readout, direct_encode, encode


def test_direct_encoding_repeats_the_image_as_a_view():
    img = torch.randn(2, 3, 4, 4)
    seq = direct_encode(img, 5)
    assert seq.shape == (5, 2, 3, 4, 4)
    assert seq.stride(0) == 0 and seq.data_ptr() == img.data_ptr()
    for t in range(5):
        assert torch.equal(seq[t], img)


def test_encode_static_uses_T_or_the_default():
    img = torch.randn(2, 1, 3, 3)
    assert encode(img, None, default_T=4).shape[0] == 4
    assert encode(img, 2, default_T=4).shape[0] == 2


def test_encode_events_pass_through_or_take_the_first_T_frames():
    frames = torch.randn(6, 2, 2, 3, 3)
    assert encode(frames, None, default_T=4) is frames
    torch.testing.assert_close(encode(frames, 3, default_T=4), frames[:3])
    with pytest.raises(ValueError, match="exceeds the 6 frames"):
        encode(frames, 7, default_T=4)


def test_encode_rejects_bad_input():
    with pytest.raises(ValueError, match="static"):
        encode(torch.zeros(3, 3), None, default_T=2)
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        encode(torch.zeros(1, 1, 2, 2), 0, default_T=2)
    with pytest.raises(TypeError, match="T: expected an integer"):
        encode(torch.zeros(1, 1, 2, 2), True, default_T=2)
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        encode([[1.0]], None, default_T=2)
    with pytest.raises(ValueError, match="at least one frame"):
        encode(torch.zeros(0, 1, 1, 2, 2), None, default_T=2)


def test_readout_maps_each_step_linearly_without_spiking():
    torch.manual_seed(0)
    head = Readout(2 * 3 * 3, 4)
    x = torch.randn(3, 2, 2, 3, 3)
    out = head(x)
    assert out.shape == (3, 2, 4)
    expected = torch.stack([x_t.flatten(1) @ head.fc.weight.T + head.fc.bias for x_t in x])
    torch.testing.assert_close(out, expected)
    assert not torch.all((out == 0) | (out == 1))  # real-valued currents, not spikes


def test_readout_rejects_wrong_shapes():
    head = Readout(8, 2)
    with pytest.raises(ValueError, match="8 features"):
        head(torch.zeros(2, 1, 9))
    with pytest.raises(ValueError, match=r"\[T, B, features"):
        head(torch.zeros(2, 8))
