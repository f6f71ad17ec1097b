"""ResNet-34 for ImageNet-sized input: Spiking-ResNet-34 (tdBN, Zheng et al. 2021) and SEW-ResNet-34 (Fang et al.
2021), the two ImageNet networks of TET.

Stem: conv7×7 stride 2 + BN → LIF → 3×3 max pool stride 2; stages of 3, 4, 6, 3 basic blocks at 64, 128, 256, 512
channels (stride 2 from the second stage on); global average pool → readout. The pooling is adaptive, so any input
of at least 32×32 works. SEW-ResNet was trained with IF neurons: pass ``neuron=dict(decay=1.0)`` for that.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int
from ..nn.conv import ConvBN
from ..nn.fold import TimeFolded
from ..nn.readout import Readout
from ..nn.spiking_net import SpikingNet
from .blocks import SEWBasicBlock, SpikingBasicBlock, init_conv_weights, make_stage

STAGES = ((64, 3, 1), (128, 4, 2), (256, 6, 2), (512, 3, 2))  # (channels, blocks, stride of the first block)


class ResNet34(SpikingNet):
    def __init__(self, block: type, num_classes: int, T: int, in_channels: int, norm: str, neuron=None,
                 batch_first: bool = False):
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        super().__init__(T, in_channels, neuron=neuron, batch_first=batch_first)
        norm_kw = dict(norm=norm, threshold=self.threshold, steps=self.T)
        self.stem = ConvBN(in_channels, 64, 7, 2, 3, **norm_kw)
        self.sn_stem = self.spiking()
        self.maxpool = TimeFolded(nn.MaxPool2d(3, stride=2, padding=1))
        stages, channels = [], 64
        for out_channels, blocks, stride in STAGES:
            stages.append(make_stage(block, channels, out_channels, blocks, stride, self.spiking, norm_kw))
            channels = out_channels
        self.stages = nn.Sequential(*stages)
        self.pool = TimeFolded(nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.readout = Readout(512, num_classes)
        init_conv_weights(self)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        x = self.maxpool(self.sn_stem(self.stem(x)))
        return self.readout(self.pool(self.stages(x)))


def spiking_resnet34(num_classes: int = 1000, T: int = 4, in_channels: int = 3, norm: str = "tdbn",
                     neuron=None, batch_first: bool = False) -> ResNet34:
    """Spiking-ResNet-34: LIF after every residual add, tdBN (α = 1/√2 on the two BNs meeting at the add)."""
    return ResNet34(SpikingBasicBlock, num_classes, T, in_channels, norm, neuron, batch_first)


def sew_resnet34(num_classes: int = 1000, T: int = 4, in_channels: int = 3, norm: str = "bn",
                 neuron=None, batch_first: bool = False) -> ResNet34:
    """SEW-ResNet-34 with SEW ADD: block spikes + shortcut spikes (the shortcut projection has its own LIF)."""
    return ResNet34(SEWBasicBlock, num_classes, T, in_channels, norm, neuron, batch_first)
