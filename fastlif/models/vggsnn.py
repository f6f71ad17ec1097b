"""VGGSNN (TET): VGG-11 without its two hidden FC layers, the DVS-CIFAR10 / DVS-Gesture network of TET and SLT.

Initialisation: kaiming-normal fan-out (ReLU gain) on every convolution, as the TET/SLT ``VGGSNN`` constructor;
BN and the readout keep torch's default.
"""
from __future__ import annotations

from .blocks import init_conv_weights
from .plain import POOL, ConvStackNet

SPEC = [(64, 3), (128, 3), POOL, (256, 3), (256, 3), POOL, (512, 3), (512, 3), POOL, (512, 3), (512, 3), POOL]


def vggsnn(in_channels: int = 2, num_classes: int = 10, input_size: int = 48, T: int = 10, norm: str = "bn",
           neuron=None, batch_first: bool = False) -> ConvStackNet:
    """64C3-128C3-AP2-256C3-256C3-AP2-512C3-512C3-AP2-512C3-512C3-AP2-FC; default: 2-polarity 48×48 frames, T=10."""
    net = ConvStackNet(SPEC, num_classes, T, in_channels, input_size, norm=norm, neuron=neuron,
                       batch_first=batch_first)
    init_conv_weights(net)
    return net
