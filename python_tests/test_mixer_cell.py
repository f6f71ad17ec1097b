"""The spiking window cell: LIF dynamics over windows, the public code's update, gradients for every synapse."""
import pytest
import torch

import fastlif
from fastlif.mixer import SpikingWindowCell, SpikingWindowMixer, rate_encode
from fastlif.mixer.synapses import SYNAPSES

DECAY, TH = 0.4, 0.5


pytestmark = pytest.mark.usefixtures("one_thread")


def _windows(seed, b=2, side=3, c=4, dtype=torch.float32):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(b, side, side, c, generator=gen, dtype=dtype) for _ in range(4)]


def _cell(synapse="cnn", seed=0, **kw):
    """A small cell with weights large enough that both layers fire (PyTorch's default init barely does)."""
    torch.manual_seed(seed)
    cell = SpikingWindowCell(4, 6, synapse, **kw).double()
    with torch.no_grad():
        for p in cell.parameters():
            if p.dim() > 1:
                p.normal_(0.0, 2.0 / p[0].numel() ** 0.5)
            else:
                p.fill_(0.1)
    return cell


def test_reset_carry_without_fusion_is_lif_over_windows_as_time():
    """carry="reset", fusion="none": two LIFSequence layers whose time axis is the window index."""
    cell = _cell(carry="reset", fusion="none")
    wins = _windows(1, dtype=torch.float64)
    out = cell(wins)
    lif = dict(decay=DECAY, threshold=TH, surrogate="rectangle")
    s1 = fastlif.lif_sequence(torch.stack([cell.syn1(w) for w in wins]), **lif)
    s2 = fastlif.lif_sequence(torch.stack([cell.syn2(s) for s in s1]), **lif)
    assert s2.sum() > 0
    assert torch.equal(torch.stack(out), s2)


def test_membrane_carry_matches_the_public_code_update():
    """The code's mem_update with a fresh zero spike per window: mem = decay*mem + I, spike = mem > th,
    and the next window's layer-2 membrane is fusion(mem1, mem2) (here the CNN code's mean)."""
    cell = _cell(fusion="mean", pairing="window")
    wins = _windows(2, dtype=torch.float64)
    out = cell(wins)
    mem1 = mem2 = torch.zeros(())
    expected = []
    for w in wins:
        mem1 = mem1 * DECAY + cell.syn1(w)
        spike1 = (mem1 > TH).double()
        mem2 = mem2 * DECAY + cell.syn2(spike1)
        expected.append((mem2 > TH).double())
        mem2 = (mem1 + mem2) / 2
    assert all(torch.equal(a, b) for a, b in zip(out, expected))
    assert 0 < torch.stack(out).mean() < 1


@pytest.mark.parametrize("fusion", ["sincos", "linear"])
def test_default_diagonal_pairing_is_supplement_eq5(fusion):
    """Neuron (2, v) fires on f(V[1, v-1], V[2, v]): the layer-1 membrane of the previous window fused with the
    layer-2 charge of this window (deepening and sliding at once); layer 1 is a plain LIF over windows."""
    cell = _cell(fusion=fusion)
    assert cell.pairing == "diagonal"
    wins = _windows(2, dtype=torch.float64)
    out = cell(wins)
    f = fastlif.mixer.fuse
    mem1 = mem2 = torch.zeros(())
    prev1 = None
    expected = []
    for w in wins:
        mem1 = mem1 * DECAY + cell.syn1(w)
        spike1 = (mem1 > TH).double()
        mem2 = mem2 * DECAY + cell.syn2(spike1)
        if prev1 is not None:
            mem2 = f(fusion, prev1, mem2, cell.theta)
        expected.append((mem2 > TH).double())
        prev1 = mem1
    assert all(torch.equal(a, b) for a, b in zip(out, expected))
    assert 0 < torch.stack(out).mean() < 1
    window = _cell(fusion=fusion, pairing="window")(wins)
    assert any(not torch.equal(a, b) for a, b in zip(out, window))   # a different variant, not a renaming


def test_neighbour_pairing_fuses_layer1_membranes_of_neighbouring_windows():
    """The public LSTM-window code as described: layer 1 fires on f(m1[v-1], I1[v]); layer 2 is a plain LIF."""
    cell = _cell(fusion="sincos", pairing="neighbour")
    wins = _windows(4, dtype=torch.float64)
    out = cell(wins)
    f = fastlif.mixer.fuse
    prev1 = None
    mem2 = torch.zeros(())
    expected = []
    for w in wins:
        mem1 = cell.syn1(w) if prev1 is None else f("sincos", prev1, cell.syn1(w), cell.theta)
        spike1 = (mem1 > TH).double()
        mem2 = mem2 * DECAY + cell.syn2(spike1)
        expected.append((mem2 > TH).double())
        prev1 = mem1
    assert all(torch.equal(a, b) for a, b in zip(out, expected))
    with pytest.raises(ValueError, match="pairing"):
        SpikingWindowCell(4, 4, pairing="both")


def test_sincos_fusion_changes_the_next_window_only():
    wins = _windows(3, dtype=torch.float64)
    a, b = _cell(fusion="sincos")(wins), _cell(fusion="linear")(wins)
    assert torch.equal(a[0], b[0])  # nothing is fused before the first window
    assert any(not torch.equal(x, y) for x, y in zip(a[1:], b[1:]))


@pytest.mark.parametrize("synapse", SYNAPSES)
def test_gradient_reaches_every_parameter_and_earlier_windows(synapse):
    cell = _cell(synapse, seed=3)
    wins = [w.requires_grad_() for w in _windows(4, dtype=torch.float64)]
    out = cell(wins)
    assert out[0].shape == (2, 3, 3, 6)
    assert set(torch.unique(torch.stack(out)).tolist()) <= {0.0, 1.0}
    out[-1].sum().backward()  # only the last window's spikes
    for name, p in cell.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    assert wins[0].grad.abs().sum() > 0  # through the carried (fused) membrane


def test_mixer_output_is_binary_in_dilated_mode_and_trains_through_it():
    torch.manual_seed(5)
    mixer = SpikingWindowMixer(4, 6, mode="dilated", synapse="cnn").double()
    x = torch.rand(2, 8, 8, 4, dtype=torch.float64, requires_grad=True)
    s = mixer.spikes(x)
    assert s.shape == (2, 8, 8, 6)
    assert set(torch.unique(s).tolist()) == {0.0, 1.0}
    mixer(x).sum().backward()
    assert x.grad.abs().sum() > 0  # straight-through Bernoulli encoding and region threshold
    assert mixer.cell.syn1.conv.weight.grad.abs().sum() > 0


def test_eval_draws_are_seeded_binary_and_deterministic():
    torch.manual_seed(6)
    mixer = SpikingWindowMixer(4, 6, mode="dilated")
    x = torch.rand(2, 8, 8, 4) * 1.5 - 0.25
    encoded = []
    mixer.cell.register_forward_pre_hook(lambda mod, args: encoded.append(torch.cat([w.flatten() for w in args[0]])))
    mixer.eval()
    assert torch.equal(mixer(x), mixer(x))
    assert torch.equal(encoded[0], encoded[1])
    assert set(torch.unique(encoded[0]).tolist()) == {0.0, 1.0}
    mixer.train()
    mixer(x)
    mixer(x)
    assert not torch.equal(encoded[2], encoded[3])  # training draws are fresh


def test_rate_encoding_probabilities():
    x = torch.tensor([-0.5, 0.0, 0.3, 1.0, 2.0])
    assert rate_encode(x, "expectation").tolist() == pytest.approx([0.0, 0.0, 0.3, 1.0, 1.0])
    assert torch.equal(rate_encode(x, "direct"), x)
    draws = rate_encode(x.expand(4000, 5), "bernoulli", torch.Generator().manual_seed(0))
    assert draws[:, [0, 1]].sum() == 0 and draws[:, [3, 4]].min() == 1
    assert draws[:, 2].mean().item() == pytest.approx(0.3, abs=0.03)
    xg = x.clone().requires_grad_()
    rate_encode(xg, "bernoulli").sum().backward()
    assert xg.grad.tolist() == [0.0, 1.0, 1.0, 1.0, 0.0]  # straight-through d clamp(x, 0, 1)/dx


def test_bad_cell_options_are_named():
    with pytest.raises(ValueError, match="synapse"):
        SpikingWindowCell(4, 4, "transformer")
    with pytest.raises(ValueError, match="carry"):
        SpikingWindowCell(4, 4, carry="both")
    with pytest.raises(ValueError, match="decay"):
        SpikingWindowCell(4, 4, decay=1.5)
    with pytest.raises(ValueError, match="out_dim"):
        SpikingWindowCell(4, 0, "bilstm")
    with pytest.raises(ValueError, match="encoding"):
        SpikingWindowMixer(4, encoding="poisson")
    with pytest.raises(ValueError, match="mode"):
        SpikingWindowMixer(4, mode="shifted")


def test_bidirectional_synapse_is_one_bilstm_then_fc_as_the_public_code():
    from fastlif.mixer.synapses import make_synapse
    torch.manual_seed(0)
    syn = make_synapse("bilstm", 4, 6)
    assert isinstance(syn.rnn, torch.nn.LSTM) and syn.rnn.bidirectional and syn.rnn.num_layers == 1
    assert syn.rnn.hidden_size == 6 and (syn.fc.in_features, syn.fc.out_features) == (12, 6)
    x = torch.rand(2, 3, 3, 4)
    y, _ = syn.rnn(x.reshape(2, 9, 4))
    torch.testing.assert_close(syn(x), syn.fc(y).reshape(2, 3, 3, 6))
    assert make_synapse("lstm", 4, 6).fc is None


def _maps(seed, b=2, side=3, hidden=6):
    gen = torch.Generator().manual_seed(seed)
    return [torch.rand(b, side, side, hidden, generator=gen, dtype=torch.float64) for _ in range(4)]


def test_carried_membrane_map_starts_layer1_of_each_window():
    """With a map (the previous block's layer-1 membrane at each window's pixels), layer 1 of window v starts from
    f(map[v], m1[v-1]) — deepening fused with sliding — or from map[v] where the pairing hands it nothing."""
    f = fastlif.mixer.fuse
    wins, maps = _windows(5, dtype=torch.float64), _maps(6)
    cell = _cell(fusion="sincos")                                   # diagonal
    out, m1s = cell(wins, maps, return_membranes=True)
    mem1 = mem2 = prev1 = None
    expected, expected_m1 = [], []
    for w, m in zip(wins, maps):
        start = m if mem1 is None else f("sincos", m, mem1, cell.theta)
        mem1 = start * DECAY + cell.syn1(w)
        spike1 = (mem1 > TH).double()
        mem2 = cell.syn2(spike1) + (0 if mem2 is None else mem2 * DECAY)
        if prev1 is not None:
            mem2 = f("sincos", prev1, mem2, cell.theta)
        expected.append((mem2 > TH).double())
        expected_m1.append(mem1)
        prev1 = mem1
    assert all(torch.equal(a, b) for a, b in zip(out, expected))
    assert all(torch.allclose(a, b) for a, b in zip(m1s, expected_m1))
    assert any(not torch.equal(a, b) for a, b in zip(out, cell(wins)))   # the map changes the spikes
    neighbour = _cell(fusion="sincos", pairing="neighbour")
    out = neighbour(wins, maps)
    prev1, mem2, expected = None, torch.zeros(()), []
    for w, m in zip(wins, maps):
        own = m * DECAY + neighbour.syn1(w)
        mem1 = own if prev1 is None else f("sincos", prev1, own, neighbour.theta)
        mem2 = mem2 * DECAY + neighbour.syn2((mem1 > TH).double())
        expected.append((mem2 > TH).double())
        prev1 = mem1
    assert all(torch.equal(a, b) for a, b in zip(out, expected))
    with pytest.raises(ValueError, match="maps"):
        cell(wins, _maps(6, hidden=5))


def test_window_snn_carries_the_map_within_a_stage_only():
    from fastlif.mixer import SpikingWindowCell as Cell
    torch.manual_seed(0)
    plain = fastlif.models.get("window_snn_tiny", num_classes=10).eval()
    carried = fastlif.models.get("window_snn_tiny", num_classes=10, membrane_map=True).eval()
    carried.load_state_dict(plain.state_dict())
    got_map = []
    for m in carried.modules():
        if isinstance(m, Cell):
            m.register_forward_pre_hook(lambda mod, args: got_map.append(len(args) > 1 and args[1] is not None))
    x = torch.rand(2, 1, 8, 8) * 2
    with torch.no_grad():
        a, b = plain.features(x), carried.features(x)       # (the head starts at zero: compare features)
    assert got_map == [False, True] * 3           # 3 stages of 2 blocks: the first of each starts from rest
    assert not torch.equal(a, b)
    with pytest.raises(TypeError, match="membrane_map"):
        fastlif.models.get("window_snn_tiny", membrane_map=1)
    with pytest.raises(TypeError, match="membrane_map"):
        fastlif.mixer.vit12(membrane_map=True)
