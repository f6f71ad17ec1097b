"""Residual blocks of the spiking ResNets, on `[T, B, C, H, W]`.

``SpikingBasicBlock`` (tdBN / TET / SLT): conv3×3+BN → LIF → conv3×3+BN, add the shortcut, LIF after the add.
The BN before the add and the shortcut's BN use α = 1/√2 when the norm is "tdbn" (SPEC §7).
``SEWBasicBlock`` (Fang et al. 2021, SEW ADD): the block's output spikes are added to the shortcut's spikes, no
neuron after the add — so the signal passed on can exceed 1.
"""
from __future__ import annotations

from typing import Callable

import torch
from torch import nn

from ..memory import residual_add
from ..nn.batchnorm import RESIDUAL_ALPHA
from ..nn.conv import ConvBN


def _needs_projection(in_channels: int, out_channels: int, stride: int) -> bool:
    return stride != 1 or in_channels != out_channels


class SpikingBasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, spiking: Callable[[], nn.Module],
                 norm_kw: dict):
        super().__init__()
        self.conv1 = ConvBN(in_channels, out_channels, 3, stride, 1, **norm_kw)
        self.sn1 = spiking()
        self.conv2 = ConvBN(out_channels, out_channels, 3, 1, 1, alpha=RESIDUAL_ALPHA, **norm_kw)
        self.shortcut = (ConvBN(in_channels, out_channels, 1, stride, 0, alpha=RESIDUAL_ALPHA, **norm_kw)
                         if _needs_projection(in_channels, out_channels, stride) else None)
        self.sn2 = spiking()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.conv2(self.sn1(self.conv1(x)))
        identity = x if self.shortcut is None else self.shortcut(x)
        return self.sn2(residual_add(out, identity))


class SEWBasicBlock(nn.Module):
    def __init__(self, in_channels: int, out_channels: int, stride: int, spiking: Callable[[], nn.Module],
                 norm_kw: dict):
        super().__init__()
        self.conv1 = ConvBN(in_channels, out_channels, 3, stride, 1, **norm_kw)
        self.sn1 = spiking()
        self.conv2 = ConvBN(out_channels, out_channels, 3, 1, 1, **norm_kw)
        self.sn2 = spiking()
        if _needs_projection(in_channels, out_channels, stride):
            self.shortcut = nn.Sequential(ConvBN(in_channels, out_channels, 1, stride, 0, **norm_kw), spiking())
        else:
            self.shortcut = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.sn2(self.conv2(self.sn1(self.conv1(x))))
        identity = x if self.shortcut is None else self.shortcut(x)
        return residual_add(out, identity)


def make_stage(block: type, in_channels: int, out_channels: int, blocks: int, stride: int,
               spiking: Callable[[], nn.Module], norm_kw: dict) -> nn.Sequential:
    """``blocks`` blocks at ``out_channels``; only the first changes stride / channels."""
    layers = [block(in_channels, out_channels, stride, spiking, norm_kw)]
    layers += [block(out_channels, out_channels, 1, spiking, norm_kw) for _ in range(blocks - 1)]
    return nn.Sequential(*layers)


def init_conv_weights(model: nn.Module) -> None:
    """He (fan-out, ReLU gain) normal initialisation of the convolutions: the TET/SLT VGGSNN and torchvision's
    ResNet (the ResNet-34s here). The TET/SLT ResNet-19 does not use it (see resnet19.py)."""
    for m in model.modules():
        if isinstance(m, nn.Conv2d):
            nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
