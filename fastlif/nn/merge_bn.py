"""Folding the batch norms into the preceding convolutions for inference (TET eq. 6).

In eval mode a BN is a per-channel affine map, y = γ·(z − μ)/√(σ² + ε) + β, and z = W∗x + b is linear, so
the pair is one conv with W' = W·γ/√(σ² + ε) and b' = β + (b − μ)·γ/√(σ² + ε). For TEBN the per-step scale
p[t] multiplies both; for BNTT every step has its own statistics. Those two fold into per-step weights
(``StepConv2d``).
"""
from __future__ import annotations

import copy

import torch
import torch.nn.functional as F
from torch import nn

from .batchnorm import BNTT2d, TdBatchNorm2d, TEBatchNorm2d
from .conv import ConvBN
from .fold import TimeFolded


def folded_weights(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[torch.Tensor, torch.Tensor]:
    """(W', b') of the single conv equal to ``bn(conv(x))`` with ``bn`` in eval mode (its running statistics)."""
    if bn.running_mean is None or bn.running_var is None:
        raise ValueError("bn must track running statistics (track_running_stats=True) to be folded into a conv")
    scale = torch.rsqrt(bn.running_var + bn.eps)
    if bn.weight is not None:
        scale = scale * bn.weight
    shift = torch.zeros_like(scale) if bn.bias is None else bn.bias
    bias = torch.zeros_like(scale) if conv.bias is None else conv.bias
    weight = conv.weight * scale.view(-1, 1, 1, 1)
    return weight.detach().clone(), (shift + (bias - bn.running_mean) * scale).detach().clone()


class StepConv2d(nn.Module):
    """A conv with its own weights per time step — the folded form of TEBN and BNTT. Input `[T, B, C, H, W]`."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, conv: nn.Conv2d):
        super().__init__()
        self.weight = nn.Parameter(weight)  # [steps, C_out, C_in / groups, kh, kw]
        self.bias = nn.Parameter(bias)      # [steps, C_out]
        self.stride, self.padding, self.dilation, self.groups = conv.stride, conv.padding, conv.dilation, conv.groups

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            raise ValueError(f"x must be a sequence [T, B, C, H, W], got {getattr(x, 'shape', type(x).__name__)}")
        steps = self.weight.shape[0]
        if x.shape[0] > steps:
            raise ValueError(f"x has T = {x.shape[0]} steps but this layer was folded from a BN of {steps} steps")
        return torch.stack([F.conv2d(x_t, self.weight[t], self.bias[t], self.stride, self.padding, self.dilation,
                                     self.groups) for t, x_t in enumerate(x)])


def fuse_conv_bn(block: ConvBN) -> nn.Module:
    """The inference-only module equal to ``block`` in eval mode."""
    conv, bn = block.conv, block.bn
    if isinstance(bn, TEBatchNorm2d):
        w, b = folded_weights(conv, bn)
        p = bn.step_scale.detach()
        return StepConv2d(p.view(-1, 1, 1, 1, 1) * w, p.view(-1, 1) * b, conv)
    if isinstance(bn, TdBatchNorm2d):
        w, b = folded_weights(conv, bn)
        fused = nn.Conv2d(conv.in_channels, conv.out_channels, conv.kernel_size, stride=conv.stride,
                          padding=conv.padding, dilation=conv.dilation, groups=conv.groups, bias=True,
                          padding_mode=conv.padding_mode, device=w.device, dtype=w.dtype)
        with torch.no_grad():
            fused.weight.copy_(w)
            fused.bias.copy_(b)
        return TimeFolded(fused)
    if isinstance(bn, BNTT2d):
        pairs = [folded_weights(conv, step_bn) for step_bn in bn.bns]
        return StepConv2d(torch.stack([w for w, _ in pairs]), torch.stack([b for _, b in pairs]), conv)
    raise TypeError(f"cannot fold a {type(bn).__name__} into a conv")


def fuse_bn(model: nn.Module) -> nn.Module:
    """An eval-mode copy of ``model`` with every ``ConvBN`` replaced by its folded conv; ``model`` is untouched.

    The copy gives the same outputs as ``model.eval()`` (up to float rounding) with one layer less per conv.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if isinstance(model, ConvBN):
        return fuse_conv_bn(model).eval()
    fused = copy.deepcopy(model).eval()
    _replace(fused)
    return fused


def _replace(module: nn.Module) -> None:
    for name, child in module.named_children():
        if isinstance(child, ConvBN):
            setattr(module, name, fuse_conv_bn(child).eval())
        else:
            _replace(child)
