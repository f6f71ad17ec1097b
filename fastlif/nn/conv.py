"""``ConvBN``: a 2-D convolution followed by a sequence batch norm, the unit every model here is built from."""
from __future__ import annotations

import torch
from torch import nn

from .batchnorm import make_norm
from .fold import seq_apply


class ConvBN(nn.Module):
    """Conv2d (time folded into the batch) then the sequence BN ``norm`` on `[T, B, C, H, W]`.

    Keeping the pair in one module is what lets ``fastlif.nn.fuse_bn`` find it and fold the BN into the conv.
    A directly encoded input (stride-0 time) is convolved once and broadcast; the BN then sees all T steps.
    """

    def __init__(self, in_channels: int, out_channels: int, kernel_size: int, stride: int = 1, padding: int = 0,
                 bias: bool = False, norm: str = "bn", alpha: float = 1.0, threshold: float = 1.0,
                 steps: int | None = None):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size, stride=stride, padding=padding, bias=bias)
        self.bn = make_norm(norm, out_channels, alpha=alpha, threshold=threshold, steps=steps)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if not isinstance(x, torch.Tensor) or x.dim() != 5:
            shape = tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__
            raise ValueError(f"x must be a sequence [T, B, C, H, W], got {shape}")
        return self.bn(seq_apply(self.conv, x))
