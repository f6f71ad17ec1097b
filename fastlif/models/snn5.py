"""SNN-5 (TET §5): the small CNN TET trains many times over to gather statistics."""
from __future__ import annotations

from .plain import POOL, ConvStackNet

SPEC = [(16, 3), (64, 5), POOL, (128, 5), POOL, (256, 5), POOL, (512, 3), POOL]


def snn5(in_channels: int = 3, num_classes: int = 10, input_size: int = 32, T: int = 4, norm: str = "bn",
         neuron=None, batch_first: bool = False) -> ConvStackNet:
    """16C3-64C5-AP2-128C5-AP2-256C5-AP2-512C3-AP2-FC (convs padded to keep the size)."""
    return ConvStackNet(SPEC, num_classes, T, in_channels, input_size, norm=norm, neuron=neuron,
                        batch_first=batch_first)
