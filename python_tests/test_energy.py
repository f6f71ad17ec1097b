"""SOP/MAC counting and energy on hand-countable nets with fixed spikes; the firing-rate monitor."""
import math

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
    with pytest.raises(ValueError, match=r"not \[T, B, \.\.\.\] with T = 4"):
        with SOPCounter(net, T=4):
            net(X)
    with pytest.raises(TypeError, match="mac_layers"):
        SOPCounter(net, T=3, mac_layers="0")
    with pytest.raises(ValueError, match="outside a forward"):
        with SOPCounter(net, T=3):
            net[0](X)
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


class PerToken(nn.Module):
    """A Linear over the channels of a channels-last map, time folded into the batch: [T*B, H, W, C] -> [T, B, ...]."""

    def __init__(self, T):
        super().__init__()
        self.T, self.fc = T, nn.Linear(4, 5)

    def forward(self, x):
        return self.fc(x).unflatten(0, (self.T, -1))


def test_linear_on_channels_last_tokens_counts_samples_not_tokens():
    x = torch.zeros(2 * 2, 2, 3, 4)      # T=2, B=2 folded time-major; H=2, W=3 tokens of C=4 channels
    x[0, 0, 0, :] = 1                    # step 1: 4 + 1 non-zero inputs
    x[1, 1, 2, 1] = 1
    x[2, 1, 1, 3] = 1                    # step 2: 1 + 1
    x[3, 0, 2, 0] = 1
    net = PerToken(T=2)
    with SOPCounter(net, T=2, mac_layers=[]) as c:
        net(x)
    r = c.report()
    assert r.layers[0].samples == 2                       # 2 samples, not 2·2·3 tokens per step
    assert r.layers[0].spikes.tolist() == [5.0, 2.0]
    assert r.sops.tolist() == [5 * 5 / 2, 7 * 5 / 2]     # non-zeros × fan-out 5, per sample
    assert r.ann_macs == 2 * 3 * 5 * 4                    # 6 tokens × 5 outputs × 4 inputs per sample and step
    assert r.macs.tolist() == [0.0, 0.0]


class SharedSynapse(nn.Module):
    """One Linear applied to 4 windows in turn (as a window cell's synapse), then a head on their sum."""

    def __init__(self, T):
        super().__init__()
        self.T, self.syn, self.head = T, nn.Linear(3, 2), nn.Linear(2, 2)

    def forward(self, x):                # x [T*B, 4 windows, 3]
        y = sum(self.syn(x[:, i]) for i in range(4))
        return self.head(y).unflatten(0, (self.T, -1))


def _window_spikes():
    x = torch.zeros(2 * 2, 4, 3)         # T=2, B=2
    x[0, 0, :] = 1                       # step 1 (rows 0, 1): 3 + 1 + 1 non-zeros over the windows
    x[0, 3, 1] = 1
    x[1, 2, 0] = 1
    x[2, 1, 2] = 1                       # step 2 (rows 2, 3): 1 + 4
    x[3, :, 0] = 1
    return x


def test_layer_called_four_times_adds_every_call_once_per_pass():
    net = SharedSynapse(T=2)
    with SOPCounter(net, T=2, mac_layers=["head"]) as c:
        net(_window_spikes())
    r = c.report()
    syn, head = (next(lc for lc in r.layers if lc.name == n) for n in ("syn", "head"))
    assert syn.samples == 2 and head.samples == 2        # one pass of B=2, whatever the number of calls
    assert syn.spikes.tolist() == [5.0, 5.0]
    assert r.layer_sops("syn").tolist() == [5 * 2 / 2, 10 * 2 / 2]
    # MACs per sample and step: head 2·2; the shared synapse 4 calls × 2·3 when priced as MACs
    assert r.macs.tolist() == [4.0, 8.0]
    assert r.ann_macs == 4 * 2 * 3 + 2 * 2
    with SOPCounter(net, T=2, mac_layers=["syn", "head"]) as c:
        net(_window_spikes())
    assert c.report().macs.tolist() == [28.0, 56.0]
    assert c.report().sops.tolist() == [0.0, 0.0]


def test_layer_run_once_for_all_steps_is_charged_to_step_one():
    class Once(nn.Module):           # a one-step network evaluated once, its output repeated for T steps
        def __init__(self):
            super().__init__()
            self.fc = nn.Linear(3, 2)

        def forward(self, x):
            y = self.fc(x)
            return y.unsqueeze(0).expand(3, *y.shape)

    net = Once()
    x = torch.tensor([[1.0, 0, 1], [0, 0, 1]])
    with SOPCounter(net, T=3, mac_layers=[]) as c:
        net(x)
    r = c.report()
    assert r.sops.tolist() == [3.0, 3.0, 3.0]     # 3 non-zeros × 2 / 2 samples, spent once
    assert r.ann_macs == 6.0
    # T = B = H: a per-token input [B, H, C] also reads as [T, B, C]; the expanded output says it ran once
    tokens = torch.zeros(3, 3, 3)
    tokens[0, 1, 0] = tokens[2, 2, 2] = 1
    with SOPCounter(net, T=3, mac_layers=[]) as c:
        net(tokens)
    assert c.report().sops.tolist() == [4 / 3, 4 / 3, 4 / 3]   # 2 non-zeros × 2 / 3 samples, all at step 1


def test_direct_encoded_first_layer_is_charged_at_every_step():
    # digits_cnn at T = 4 on a static image: the stride-0 input makes the first conv run once ([B, ...]), but every
    # step uses it, so SPEC §8 charges MAC(first layer) × t. Hand count: conv 1 → 32, 3×3, padding 1 on 8×8 is
    # 32·8·8 outputs × 9 MACs; the SOPs are the spikes of each LIF times the fan-out of the layer they feed.
    from fastlif.models import digits_cnn
    torch.manual_seed(0)
    net = digits_cnn(T=4).eval()
    x = torch.rand(3, 1, 8, 8) * 4
    lifs = [m for m in net.modules() if isinstance(m, LIFSequence)]
    seen = []
    handles = [m.register_forward_hook(lambda m, i, o: seen.append(o.detach())) for m in lifs]
    with SOPCounter(net, T=4) as c:
        net(x)
    for h in handles:
        h.remove()
    r = c.report()
    first = 32 * 8 * 8 * 9
    assert r.macs.tolist() == [first * t for t in range(1, 5)]
    s1, s2 = seen                                                  # [4, 3, 32, 8, 8], [4, 3, 64, 8, 8]
    pooled = nn.functional.avg_pool2d(s2.flatten(0, 1), 2).unflatten(0, (4, 3))
    per_step = ((s1 != 0).flatten(1).sum(1) * (64 * 9) + (pooled != 0).flatten(1).sum(1) * 10).double() / 3
    assert per_step.sum() > 0
    torch.testing.assert_close(r.sops, per_step.cumsum(0))
    torch.testing.assert_close(r.energy_pj, E_MAC_PJ * first * torch.arange(1, 5, dtype=torch.float64)
                               + E_AC_PJ * per_step.cumsum(0))
    assert r.ann_macs == first + 64 * 8 * 8 * 32 * 9 + 10 * 64 * 4 * 4


class Recurrent(nn.Module):
    """A recurrent layer over L tokens of spikes, time folded into the batch; the last token's output."""

    def __init__(self, rnn, T):
        super().__init__()
        self.T, self.rnn = T, rnn

    def forward(self, x):            # x [T*B, L, C] (batch_first) or [L, T*B, C]
        y, _ = self.rnn(x)
        last = y[:, -1] if self.rnn.batch_first else y[-1]
        return last.unflatten(0, (self.T, -1))


def test_lstm_on_spikes_input_products_are_sops_state_products_macs():
    net = Recurrent(nn.LSTM(3, 2, batch_first=True), T=1)
    x = torch.zeros(2, 3, 3)             # B=2 samples, L=3 tokens, C=3
    x[0, 0, :2] = 1
    x[0, 2, 1] = 1
    x[1, 1, 2] = 1                       # 4 non-zero inputs in all
    with SOPCounter(net, T=1, mac_layers=[]) as c:
        net(x)
    r = c.report()
    assert r.layers[0].fan_out == 4 * 2                  # each input reaches 4 gates × 2 hidden units
    assert r.sops.tolist() == [4 * 8 / 2]
    # per sample: 3 tokens × W_hh (8×2) on the real-valued hidden state; as an ANN also W_ih (8×3)
    assert r.macs.tolist() == [3 * 16]
    assert r.ann_macs == 3 * (16 + 24)
    torch.testing.assert_close(r.energy_pj, torch.tensor([E_MAC_PJ * 48 + E_AC_PJ * 16], dtype=torch.float64))


def test_stacked_bidirectional_gru_sequence_first():
    torch.manual_seed(0)
    net = Recurrent(nn.GRU(3, 2, num_layers=2, bidirectional=True), T=2)
    x = (torch.rand(5, 2 * 3, 3) < 0.5).float()       # L=5 tokens, T=2 × B=3, C=3
    with SOPCounter(net, T=2, mac_layers=[]) as c:
        net(x)
    r = c.report()
    fan_out = 2 * 3 * 2                                  # directions × gates × hidden
    per_step = [float(x[:, :3].sum()), float(x[:, 3:].sum())]
    assert r.layers[0].fan_out == fan_out and r.layers[0].samples == 3
    assert r.sops.tolist() == pytest.approx([per_step[0] * fan_out / 3, sum(per_step) * fan_out / 3])
    # state MACs per token: W_hh of layer 1 (6×2 per direction), W_ih of layer 2 (6×4) fed by the hidden output,
    # W_hh of layer 2 — all on real values
    state = 2 * (6 * 2) + 2 * (6 * 4) + 2 * (6 * 2)
    assert r.macs.tolist() == pytest.approx([5 * state, 10 * state])
    assert r.ann_macs == 5 * (state + 2 * 6 * 3)


def test_window_snn_tiny_end_to_end():
    from fastlif import models
    from fastlif.mixer.cell import SpikingWindowCell

    torch.manual_seed(0)
    model = models.get("window_snn_tiny", num_classes=10, in_channels=2).eval()
    T, B = 2, 3
    x = torch.rand(T, B, 2, 8, 8)        # a sequence: every frame its own one-step pass, [T*B, ...] inside
    cell = next(m for m in model.modules() if isinstance(m, SpikingWindowCell))
    seen = []                            # an independent count of the syn2 inputs, over its 4 window calls
    cell.syn2.conv.register_forward_pre_hook(lambda mod, args: seen.append(args[0].detach().clone()))
    mac_layers = model.real_valued_layers()
    with SOPCounter(model, T=T, mac_layers=mac_layers) as c, torch.no_grad():
        model(x)
    r = c.report()
    assert len(seen) == 4
    name = next(n for n, m in model.named_modules() if m is cell.syn2.conv)
    # syn2 is a 3×3 conv 16 -> 16, stride 1: fan-out 16·9; time-major rows, step t = rows t·B .. t·B+B−1
    nz = [sum(float((s[t * B:(t + 1) * B] != 0).sum()) for s in seen) for t in range(T)]
    assert nz[0] > 0
    assert r.layer_sops(name).tolist() == pytest.approx([nz[0] * 144 / B, (nz[0] + nz[1]) * 144 / B])
    assert all(lc.samples == B for lc in r.layers)
    assert r.sops[0] > 0 and r.sops[1] > r.sops[0]
    # MACs: the real-valued layers per sample and step, from the architecture (8×8 input, patch 1, widths
    # 16, 32, 64 over maps 8, 4, 2, blocks [2, 2, 2], MLP ratio 3, 10 classes)
    stem = 8 * 8 * 16 * 2
    mlps = sum(2 * side * side * (d * 3 * d + 3 * d * d) for side, d in ((8, 16), (4, 32), (2, 64)))
    merging = 4 * 4 * (4 * 16) * 32 + 2 * 2 * (4 * 32) * 64
    head = 64 * 10
    per_step = stem + mlps + merging + head
    assert r.macs.tolist() == pytest.approx([per_step, 2 * per_step])
    assert {lc.name for lc in r.layers if lc.kind == "mac"} == set(mac_layers)
    assert all(lc.binary_input for lc in r.layers if lc.kind == "sop")
    rows = r.rows()
    assert [row["t"] for row in rows] == [1, 2]
    for row in rows:
        assert row["energy_pj"] == pytest.approx(E_MAC_PJ * row["macs"] + E_AC_PJ * row["sops"])
    # the equivalent ANN adds the spiking layers: per block two 3×3 convs d -> d over the 4 windows (plain: side
    # L/2, covering the map once; dilated: side 3L/4) and the mixer's Linear d -> d per token
    blocks = [(8, 16, "plain"), (8, 16, "dilated"), (4, 32, "plain"), (4, 32, "dilated"), (2, 64, "plain"),
              (2, 64, "plain")]
    window_side = {"plain": lambda side: side // 2, "dilated": lambda side: 3 * side // 4}
    spiking = sum(2 * 4 * window_side[mode](side) ** 2 * d * 9 * d + side * side * d * d for side, d, mode in blocks)
    assert r.ann_macs == pytest.approx(per_step + spiking)
    assert math.isclose(r.ann_energy_pj, E_MAC_PJ * r.ann_macs)


def test_window_snn_with_lstm_synapses_counts_their_state_as_macs():
    from fastlif import models

    torch.manual_seed(0)
    model = models.get("window_snn_tiny", num_classes=10, in_channels=2, synapse="lstm").eval()
    with SOPCounter(model, T=1, mac_layers=model.real_valued_layers()) as c, torch.no_grad():
        model(torch.rand(2, 2, 8, 8))
    r = c.report()
    lstms = [lc for lc in r.layers if lc.name.endswith(".rnn")]
    assert len(lstms) == 2 * 6 and all(lc.kind == "sop" and lc.binary_input for lc in lstms)
    assert {lc.fan_out for lc in lstms} == {4 * 16, 4 * 32, 4 * 64}     # 4 gates × hidden (= the block's width)
    assert float(lstms[0].spikes[0]) > 0 and r.sops[0] > 0               # the first synapse sees encoded spikes
    # MACs: the real-valued layers (as in the CNN cell) plus, in every LSTM, W_hh (4d×d) once per window token;
    # the 4 windows hold side² tokens (plain) or 4·(3·side/4)² (dilated)
    real = 8 * 8 * 16 * 2 + sum(2 * side * side * 6 * d * d for side, d in ((8, 16), (4, 32), (2, 64))) \
        + 4 * 4 * 64 * 32 + 2 * 2 * 128 * 64 + 64 * 10
    blocks = [(8, 16, "plain"), (8, 16, "dilated"), (4, 32, "plain"), (4, 32, "dilated"), (2, 64, "plain"),
              (2, 64, "plain")]
    tokens = {"plain": lambda side: side * side, "dilated": lambda side: 4 * (3 * side // 4) ** 2}
    state = sum(2 * tokens[mode](side) * 4 * d * d for side, d, mode in blocks)
    assert r.macs.tolist() == pytest.approx([real + state])


def test_a_failed_pass_counts_nothing_and_the_next_pass_counts():
    class Fails(nn.Module):
        def __init__(self):
            super().__init__()
            self.net, self.fail = linear_net(), False

        def forward(self, x):
            y = self.net(x)
            if self.fail:
                raise RuntimeError("boom")
            return y

    model = Fails()
    with SOPCounter(model, T=3) as c:
        model.fail = True
        with pytest.raises(RuntimeError, match="boom"):
            model(X)
        model.fail = False
        with pytest.raises(ValueError, match="T = 3"):
            model(torch.cat([X, X]))          # 6 steps, the counter was told 3
        model(X)
    r = c.report()
    assert r.layers[1].samples == 2
    assert r.sops.tolist() == [5.0, 15.0, 20.0]     # as test_two_layer_linear_net_exact_counts


class SharedTokens(nn.Module):
    """A per-token Linear on a direct-encoded [B, H, F] input through ``seq_apply``: it runs once on [B, H, F] for
    all T steps, then a LIF and the readout. With T = B = H the first input is both [T, B, F] and [B, H, F]."""

    def __init__(self, T):
        super().__init__()
        from fastlif.nn import Readout
        self.T, self.fc = T, nn.Linear(2, 3, bias=False)
        self.lif, self.readout = LIFSequence(), Readout(3 * 3, 2)
        with torch.no_grad():
            self.fc.weight.fill_(1.0)

    def forward(self, x):
        from fastlif.nn import direct_encode, seq_apply
        return self.readout(self.lif(seq_apply(self.fc, direct_encode(x, self.T))))


def test_layer_run_once_on_tokens_with_t_equal_b_is_charged_at_every_step():
    # seq_apply declares its shortcut "shared": the fc ran once but every step uses it, so MAC(fc) × t, where a
    # reading by shape took [B = 3, H = 3, F] for [T, B, F] and charged a third of it per step
    net = SharedTokens(T=3)
    x = torch.zeros(3, 3, 2)
    x[0, 0] = 1.0                        # sample 0, token 0: current 2 at every step (fires every step)
    x[1, 2, 0] = 2.0                     # sample 1, token 2: current 2 too
    with SOPCounter(net, T=3) as c:
        net(x)
    r = c.report()
    fc_macs = 3 * 3 * 2                  # per sample and step: 3 tokens × 3 outputs × 2 inputs
    assert r.macs.tolist() == [fc_macs * t for t in (1, 2, 3)]
    # spikes into the readout per step: 3 + 3 (all outputs of both fed tokens), fan-out 2, over 3 samples
    assert r.layers[1].spikes.tolist() == [6.0, 6.0, 6.0]
    assert r.sops.tolist() == [6 * 2 / 3 * t for t in (1, 2, 3)]


class StepLinear(nn.Module):
    """A user's model: one Linear on [T, B, F], the layout declared or not."""

    def __init__(self, declare):
        super().__init__()
        self.declare, self.fc = declare, nn.Linear(3, 2)

    def forward(self, x):
        from fastlif.nn import time_layout
        if self.declare is None:
            return self.fc(x)
        with time_layout(self.declare):
            return self.fc(x)


def test_user_model_declares_its_layout_where_t_equals_b():
    x = torch.zeros(2, 2, 3)             # T = B = 2
    x[0, 1, :2] = 1                      # step 1: 2 non-zeros; step 2: 1
    x[1, 0, 2] = 1
    with SOPCounter(StepLinear(None), T=2, mac_layers=[]) as c:
        with pytest.raises(ValueError, match=r"fc: input \(2, 2, 3\) could be \[T, B, \.\.\.\] or \[B, \.\.\.\].*"
                                             r"time_layout\(\"sequence\"\)"):
            c.model(x)
    net = StepLinear("sequence")
    with SOPCounter(net, T=2, mac_layers=[]) as c:
        net(x)
    assert c.report().sops.tolist() == [2 * 2 / 2, 3 * 2 / 2]
    net = StepLinear("folded")           # a declaration that does not fit the input is an error, not a guess
    with SOPCounter(net, T=2, mac_layers=[]) as c:
        with pytest.raises(ValueError, match=r"fc: input \(2, 2, 3\) was declared 'folded', \[T\*B, \.\.\.\]"):
            net(x)
