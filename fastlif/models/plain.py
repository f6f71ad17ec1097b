"""``ConvStackNet``: a plain (non-residual) spiking CNN from a layer spec — VGGSNN, SNN-5 and the digits net.

Spec items: ``(out_channels, kernel)`` is Conv(k, stride 1, padding k//2) + BN → LIF; ``"A"`` is a 2×2 average
pool (non-spiking: it averages spikes). After the stack, the features of each step are flattened into the readout.
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int
from ..nn.conv import ConvBN
from ..nn.fold import TimeFolded
from ..nn.readout import Readout
from ..nn.spiking_net import SpikingNet

POOL = "A"


class ConvStackNet(SpikingNet):
    def __init__(self, spec, num_classes: int, T: int, in_channels: int, input_size: int, norm: str = "bn",
                 conv_bias: bool = True, neuron=None, batch_first: bool = False):
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        check_int("input_size", input_size)
        pools = sum(item == POOL for item in spec)
        if input_size < 2 ** pools:
            raise ValueError(f"input_size must be >= {2 ** pools} for {pools} 2x2 pools, got {input_size}")
        super().__init__(T, in_channels, input_size=input_size, neuron=neuron, batch_first=batch_first)
        layers, channels, size = [], in_channels, input_size
        for item in spec:
            if item == POOL:
                layers.append(TimeFolded(nn.AvgPool2d(2)))
                size //= 2
                continue
            out_channels, kernel = item
            layers += [ConvBN(channels, out_channels, kernel, 1, kernel // 2, bias=conv_bias, norm=norm,
                              threshold=self.threshold, steps=self.T), self.spiking()]
            channels = out_channels
        self.features = nn.Sequential(*layers)
        self.readout = Readout(channels * size * size, num_classes)

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        return self.readout(self.features(x))
