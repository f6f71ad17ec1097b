"""SOP/MAC counting and energy on hand-countable nets with fixed spikes; the firing-rate monitor."""
import pytest
import torch
from torch import nn

from fastlif import LIFSequence
from fastlif.energy import E_AC_PJ, E_MAC_PJ, E_SOP_NEURO_PJ, FiringRateMonitor, SOPCounter

# Input of the linear net, [T=3, B=2, 4], entries 0/1. Layer 1 is 2·I on the first 3 features, so its LIF
# (decay 0.5, threshold 1, hard reset) spikes exactly where x[..., :3] is 1: h is 2 or 0 and u is always reset to 0.
X = torch.tensor([[[1, 0, 1, 0], [0, 0, 0, 1]],
                  [[1, 1, 1, 1], [0, 1, 0, 0]],
                  [[0, 0, 0, 0], [1, 1, 0, 0]]], dtype=torch.float32)


def linear_net():
    l1, l2 = nn.Linear(4, 3, bias=False), nn.Linear(3, 5)
    with torch.no_grad():
        l1.weight.copy_(2 * torch.eye(3, 4))
    return nn.Sequential(l1, LIFSequence(), l2)


def test_two_layer_linear_net_exact_counts():
    net = linear_net()
    with SOPCounter(net, T=3) as c:
        net(X)
    r = c.report()
    # spikes into layer 2 per step: t1: 2+0, t2: 3+1, t3: 0+2 -> per sample 1, 2, 1; fan-out 5
    assert [lc.kind for lc in r.layers] == ["mac", "sop"]
    assert r.layers[1].spikes.tolist() == [2, 4, 2] and r.layers[1].samples == 2
    assert r.sops.tolist() == [5.0, 15.0, 20.0]
    assert r.macs.tolist() == [12.0, 24.0, 36.0]            # first layer: 4·3 MACs per step
    assert r.ann_macs == 12 + 15
    torch.testing.assert_close(r.energy_pj, torch.tensor([59.7, 123.9, 183.6], dtype=torch.float64))
    torch.testing.assert_close(r.energy_neuro_pj, E_SOP_NEURO_PJ * torch.tensor([5.0, 15.0, 20.0], dtype=torch.float64))
    assert r.ann_energy_pj == pytest.approx(4.6 * 27)
    assert r.rows()[1] == {"t": 2, "sops": 15.0, "macs": 24.0, "energy_pj": pytest.approx(123.9),
                           "energy_neuro_pj": pytest.approx(E_SOP_NEURO_PJ * 15), "ann_energy_pj": pytest.approx(124.2)}
    assert r.layer_sops("2").tolist() == [5.0, 15.0, 20.0]
    assert r.layers[1].binary_input


def test_counts_average_over_passes_and_hooks_are_removed():
    net = linear_net()
    with SOPCounter(net, T=3) as c:
        net(X)
        net(torch.zeros_like(X))  # two more samples, no spikes
    r = c.report()
    assert r.layers[1].samples == 4
    assert r.sops.tolist() == [2.5, 7.5, 10.0]
    net(X)  # outside the block: nothing counted
    assert c.report().layers[1].samples == 4


class Folded(nn.Module):
    """A layer run with time folded into the batch, [T, B, ...] -> [T*B, ...], as the models do."""

    def __init__(self, layer):
        super().__init__()
        self.layer = layer

    def forward(self, x):
        return self.layer(x.flatten(0, 1)).unflatten(0, x.shape[:2])


def test_conv_fan_out_with_stride_and_time_folding():
    c1 = nn.Conv2d(1, 2, 1, bias=False)
    c2 = nn.Conv2d(2, 4, 3, stride=2, padding=1)
    with torch.no_grad():
        c1.weight.fill_(2.0)
    net = nn.Sequential(Folded(c1), LIFSequence(), Folded(c2))
    x = torch.zeros(2, 1, 1, 4, 4)
    x[0, 0, 0, 0, :3] = 1       # 3 pixels at t=1
    x[1, 0, 0, 2, 1] = 1        # 1 pixel at t=2
    with SOPCounter(net, T=2) as c:
        net(x)
    r = c.report()
    # both channels of c1 copy the input: 6 and 2 spikes; fan-out of c2 = 4·3²/2² = 9
    assert r.layers[1].fan_out == 9.0
    assert r.sops.tolist() == [54.0, 72.0]
    assert r.macs.tolist() == [32.0, 64.0]                   # 2·4·4 outputs × 1 input each
    assert r.ann_macs == 32 + 4 * 2 * 2 * (2 * 9)


def test_explicit_mac_layers_and_non_binary_inputs():
    net = nn.Sequential(Folded(nn.Conv2d(1, 2, 1)), LIFSequence(), Folded(nn.AvgPool2d(2)), Folded(nn.Conv2d(2, 3, 1)))
    with torch.no_grad():
        net[0].layer.weight.fill_(2.0)
        net[0].layer.bias.zero_()
    x = torch.zeros(1, 1, 1, 2, 2)
    x[0, 0, 0, 0, 0] = 1         # one spike per channel, pooled to 1/4
    with SOPCounter(net, T=1, mac_layers=[]) as c:   # count the first conv as SOPs too (binary input)
        net(x)
    r = c.report()
    assert [lc.kind for lc in r.layers] == ["sop", "sop"]
    assert r.layers[0].binary_input and not r.layers[1].binary_input
    assert r.sops.tolist() == [1 * 2 + 2 * 3]
    assert r.macs.tolist() == [0.0]


def test_counter_rejects_bad_use():
    net = linear_net()
    with pytest.raises(ValueError, match="T"):
        SOPCounter(net, T=0)
    with pytest.raises(ValueError, match="mac_layers"):
        SOPCounter(net, T=3, mac_layers=["nope"])
    with pytest.raises(ValueError, match="no forward pass"):
        SOPCounter(net, T=3).report()
    with pytest.raises(ValueError, match="multiple of T"):
        with SOPCounter(net, T=4):
            net(X)
    with pytest.raises(TypeError, match="model"):
        SOPCounter("net", T=1)


def test_firing_rate_monitor_rates_and_histogram():
    net = linear_net()
    with FiringRateMonitor(net) as mon:
        net(X)
    rates = mon.rates()["1"]
    torch.testing.assert_close(rates, torch.tensor([2 / 6, 4 / 6, 2 / 6], dtype=torch.float64))
    assert mon.mean_rates()["1"] == pytest.approx(8 / 18)
    # spikes per (sample, neuron) over 3 steps: b0 -> 2, 1, 2; b1 -> 1, 2, 0
    torch.testing.assert_close(mon.histogram("1", 3), torch.tensor([1, 2, 3, 0], dtype=torch.float64) / 6)
    with pytest.raises(ValueError, match="T = 2"):
        mon.histogram("1", 2)


def test_firing_rate_monitor_mixed_latencies():
    net = linear_net()
    with FiringRateMonitor(net) as mon:
        net(X)
        net(X[:1])       # a 1-step pass adds to step 1 only
    torch.testing.assert_close(mon.rates()["1"], torch.tensor([4 / 12, 4 / 6, 2 / 6], dtype=torch.float64))
    assert mon.histogram("1", 1).tolist() == [4 / 6, 2 / 6]
    with pytest.raises(ValueError, match="spiking layer"):
        FiringRateMonitor(nn.Linear(2, 2))


def test_energy_constants_are_the_papers():
    assert (E_AC_PJ, E_MAC_PJ, E_SOP_NEURO_PJ) == (0.9, 4.6, 0.077)
