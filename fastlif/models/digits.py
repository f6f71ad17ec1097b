"""A tiny spiking CNN for scikit-learn's 8×8 digits: the trainer's built-in example, seconds per epoch on a CPU."""
from __future__ import annotations

from .plain import POOL, ConvStackNet

SPEC = [(32, 3), (64, 3), POOL]


def digits_cnn(num_classes: int = 10, in_channels: int = 1, input_size: int = 8, T: int = 4, norm: str = "bn",
               neuron=None, batch_first: bool = False) -> ConvStackNet:
    """conv 1→32 + BN → LIF → conv 32→64 + BN → LIF → 2×2 average pool → FC.

    ``in_channels=2`` takes 2-polarity event frames `[T, B, 2, 8, 8]`."""
    return ConvStackNet(SPEC, num_classes, T, in_channels, input_size, norm=norm, neuron=neuron,
                        batch_first=batch_first)
