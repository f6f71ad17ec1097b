"""Time folding (fastlif/nn/fold.py): per-step equivalence, no copies, the stride-0 shortcut, BN over batch·time."""
import pytest
import torch
from torch import nn

from fastlif.nn import TimeFolded, direct_encode, seq_apply


def test_folded_conv_equals_a_loop_over_steps():
    torch.manual_seed(0)
    conv = nn.Conv2d(3, 5, 3, padding=1)
    x = torch.randn(4, 2, 3, 6, 6)
    y = TimeFolded(conv)(x)
    assert y.shape == (4, 2, 5, 6, 6)
    torch.testing.assert_close(y, torch.stack([conv(x_t) for x_t in x]))


def test_folding_a_contiguous_sequence_makes_no_copy():
    x = torch.randn(3, 2, 4, 5)
    y = TimeFolded(nn.Identity())(x)
    assert y.data_ptr() == x.data_ptr() and y.shape == x.shape


def test_time_constant_input_runs_a_pure_layer_once_with_the_same_result():
    torch.manual_seed(1)
    conv = nn.Conv2d(2, 3, 3, padding=1)
    calls = []
    conv.register_forward_hook(lambda m, inp, out: calls.append(inp[0].shape[0]))
    img = torch.randn(2, 2, 5, 5)
    y = TimeFolded(conv)(direct_encode(img, 4))
    assert calls == [2]  # one batch of B images, not T·B
    assert y.shape == (4, 2, 3, 5, 5) and y.stride(0) == 0
    torch.testing.assert_close(y, TimeFolded(conv)(img.repeat(4, 1, 1, 1, 1)))


def test_time_constant_input_still_gets_fresh_dropout_masks_per_step():
    torch.manual_seed(2)
    drop = TimeFolded(nn.Dropout(0.5)).train()
    y = drop(direct_encode(torch.ones(1, 64), 3))
    assert not torch.equal(y[0], y[1]) and not torch.equal(y[1], y[2])


def test_batchnorm_inside_normalises_over_batch_and_time_together():
    torch.manual_seed(3)
    bn = nn.BatchNorm2d(2)
    # Each step has a different mean: per-step statistics would centre every step, batch·time ones do not.
    x = torch.randn(3, 4, 2, 5, 5) + torch.arange(3.0).view(3, 1, 1, 1, 1) * 2
    y = TimeFolded(bn)(x)
    mean = x.mean(dim=(0, 1, 3, 4))
    var = x.var(dim=(0, 1, 3, 4), unbiased=False)
    expected = (x - mean.view(1, 1, 2, 1, 1)) / torch.sqrt(var.view(1, 1, 2, 1, 1) + bn.eps)
    torch.testing.assert_close(y, expected, rtol=1e-5, atol=1e-5)
    assert y[0].mean() < -1 and y[2].mean() > 1
    torch.testing.assert_close(bn.running_mean, 0.1 * mean)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="at least one layer"):
        TimeFolded()
    with pytest.raises(TypeError, match=r"layers\[0\]"):
        TimeFolded("conv")
    with pytest.raises(ValueError, match=r"\[T, B, \.\.\.\]"):
        seq_apply(nn.Identity(), torch.zeros(3))
    with pytest.raises(TypeError, match="x must be a torch.Tensor"):
        seq_apply(nn.Identity(), [1.0, 2.0])
