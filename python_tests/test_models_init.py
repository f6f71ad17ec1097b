"""Initialisation per model, against what the seeds' code does: the TET/SLT ResNet-19 keeps torch's default (its
kaiming loop sits under ``if zero_init_residual:``, False), the TET/SLT VGGSNN applies kaiming fan-out normal."""
import math

import torch
from torch import nn

from fastlif.models import resnet19, vggsnn


def _convs(net):
    return [m for m in net.modules() if isinstance(m, nn.Conv2d)]


def test_resnet19_convs_keep_torch_default_uniform_init():
    torch.manual_seed(0)
    for conv in _convs(resnet19(T=1)):
        fan_in = conv.in_channels * math.prod(conv.kernel_size)
        bound = 1 / math.sqrt(fan_in)                 # kaiming_uniform(a=√5): U(−1/√fan_in, 1/√fan_in)
        w = conv.weight.detach()
        assert float(w.abs().max()) <= bound
        assert abs(float(w.std()) / (bound / math.sqrt(3)) - 1) < 0.1, conv


def test_vggsnn_convs_get_kaiming_fan_out_normal():
    torch.manual_seed(0)
    net = vggsnn(T=1)
    for conv in _convs(net):
        fan_out = conv.out_channels * math.prod(conv.kernel_size)
        w = conv.weight.detach()
        assert abs(float(w.std()) / math.sqrt(2 / fan_out) - 1) < 0.1, conv
        assert abs(float(w.mean())) < 0.1 * math.sqrt(2 / fan_out)
    # the readout keeps torch's default linear init
    fc = net.readout.fc
    assert float(fc.weight.detach().abs().max()) <= 1 / math.sqrt(fc.in_features)
