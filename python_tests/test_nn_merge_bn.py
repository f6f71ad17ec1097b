"""BN folding for inference (fastlif/nn/merge_bn.py): every norm folds into its conv with the same outputs."""
import pytest
import torch
from torch import nn

from fastlif.models import digits_cnn
from fastlif.nn import NORMS, BNTT2d, ConvBN, StepConv2d, folded_weights, fuse_bn


def _trained_stats(module, make_input, passes=3):
    """A few training-mode passes so running statistics (and learnable affines) are not their initial values."""
    module.train()
    for _ in range(passes):
        module(make_input())
    with torch.no_grad():
        for p in module.parameters():
            p.add_(0.1 * torch.randn_like(p))
    return module.eval()


@pytest.mark.parametrize("norm", NORMS)
def test_folded_convbn_equals_convbn_in_eval_mode(norm):
    torch.manual_seed(0)
    block = ConvBN(3, 4, 3, stride=2, padding=1, bias=True, norm=norm, steps=3)
    _trained_stats(block, lambda: torch.randn(3, 2, 3, 7, 7) * 2 + 1)
    x = torch.randn(3, 2, 3, 7, 7)
    expected = block(x)
    fused = fuse_bn(block)
    assert not any(isinstance(m, (nn.BatchNorm2d, BNTT2d)) for m in fused.modules())
    torch.testing.assert_close(fused(x), expected, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(fused(x[:2]), expected[:2], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", NORMS)
def test_fused_model_gives_the_same_outputs_and_leaves_the_original_alone(norm):
    torch.manual_seed(1)
    # fp64 so that no membrane lands within rounding distance of the threshold: spikes must match exactly.
    model = digits_cnn(T=3, norm=norm, neuron=dict(backend="reference")).double()
    _trained_stats(model, lambda: torch.rand(4, 1, 8, 8, dtype=torch.float64) * 4)
    x = torch.rand(4, 1, 8, 8, dtype=torch.float64) * 4
    expected = model(x)
    fused = fuse_bn(model)
    assert not any(isinstance(m, ConvBN) for m in fused.modules())
    assert any(isinstance(m, ConvBN) for m in model.modules())
    torch.testing.assert_close(fused(x), expected, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(model(x), expected, rtol=0, atol=0)


def test_folded_weights_follow_the_formula():
    torch.manual_seed(2)
    conv, bn = nn.Conv2d(2, 3, 1, bias=True), nn.BatchNorm2d(3)
    bn.running_mean.copy_(torch.tensor([1.0, -2.0, 0.5]))
    bn.running_var.copy_(torch.tensor([4.0, 0.25, 1.0]))
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([2.0, 1.0, -1.0]))
        bn.bias.copy_(torch.tensor([0.0, 3.0, 1.0]))
    w, b = folded_weights(conv, bn)
    scale = torch.tensor([2.0, 1.0, -1.0]) / torch.sqrt(torch.tensor([4.0, 0.25, 1.0]) + bn.eps)
    torch.testing.assert_close(w, conv.weight.detach() * scale.view(3, 1, 1, 1))
    torch.testing.assert_close(b, torch.tensor([0.0, 3.0, 1.0]) + (conv.bias.detach() - bn.running_mean) * scale)


def test_bad_arguments_are_rejected():
    with pytest.raises(ValueError, match="track_running_stats"):
        folded_weights(nn.Conv2d(1, 2, 1), nn.BatchNorm2d(2, track_running_stats=False))
    with pytest.raises(TypeError, match="model must be an nn.Module"):
        fuse_bn("model")
    step = fuse_bn(ConvBN(1, 2, 1, norm="bntt", steps=2))
    assert isinstance(step, StepConv2d)
    with pytest.raises(ValueError, match="BN of 2 steps"):
        step(torch.zeros(3, 1, 1, 4, 4))
