"""ResNet-19 (Zheng et al. 2021), the CIFAR network of TET and SLT.

Initialisation: torch's default (kaiming-uniform, a = √5) for every layer, as the TET and SLT code — their ResNet-19
has a kaiming fan-out loop, but it sits under ``if zero_init_residual:``, which is False, so it never runs.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int
from ..nn.conv import ConvBN
from ..nn.fold import TimeFolded
from ..nn.readout import Readout
from ..nn.spiking_net import SpikingNet
from .blocks import SpikingBasicBlock, make_stage

VARIANTS = {
    # name: (stem channels, default norm)
    "tet": (64, "bn"),     # the TET/SLT code: 64-channel stem, plain batch·time BN (≈ 12.63 M parameters)
    "tdbn": (128, "tdbn"),  # the tdBN paper: 128-channel stem, tdBN with α·V_th
}


class ResNet19(SpikingNet):
    """conv3×3 (→ stem channels) + BN → LIF; stages of 3, 3, 2 basic blocks at 128, 256 (stride 2), 512
    (stride 2) channels; global average pool → Linear(512, 256) → LIF → Linear(256, classes) readout."""

    def __init__(self, num_classes: int = 10, T: int = 4, in_channels: int = 3, variant: str = "tet",
                 norm: str | None = None, neuron=None, batch_first: bool = False):
        if variant not in VARIANTS:
            raise ValueError(f"variant must be one of {list(VARIANTS)}, got {variant!r}")
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        super().__init__(T, in_channels, neuron=neuron, batch_first=batch_first)
        stem, default_norm = VARIANTS[variant]
        self.variant = variant
        norm_kw = dict(norm=default_norm if norm is None else norm, threshold=self.threshold, steps=self.T)
        self.stem = ConvBN(in_channels, stem, 3, 1, 1, **norm_kw)
        self.sn_stem = self.spiking()
        self.layer1 = make_stage(SpikingBasicBlock, stem, 128, 3, 1, self.spiking, norm_kw)
        self.layer2 = make_stage(SpikingBasicBlock, 128, 256, 3, 2, self.spiking, norm_kw)
        self.layer3 = make_stage(SpikingBasicBlock, 256, 512, 2, 2, self.spiking, norm_kw)
        self.pool = TimeFolded(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc1 = TimeFolded(nn.Linear(512, 256))
        self.sn_fc1 = self.spiking()
        self.readout = Readout(256, num_classes)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        x = self.sn_stem(self.stem(x))
        x = self.layer3(self.layer2(self.layer1(x)))
        x = self.sn_fc1(self.fc1(self.pool(x)))
        return self.readout(x)


def resnet19(num_classes: int = 10, T: int = 4, in_channels: int = 3, variant: str = "tet", norm: str | None = None,
             neuron=None, batch_first: bool = False) -> ResNet19:
    """ResNet-19; ``variant="tdbn"`` gives the tdBN paper's 128-channel stem with tdBN (α·V_th) by default."""
    return ResNet19(num_classes=num_classes, T=T, in_channels=in_channels, variant=variant, norm=norm, neuron=neuron,
                    batch_first=batch_first)
