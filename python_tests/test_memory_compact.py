"""fastlif/memory/compact.py: compacted training keeps less for backward and gives bit-identical gradients."""
import copy
import subprocess
import sys

import pytest
import torch
from torch import nn

import fastlif
from fastlif import memory
from fastlif.mixer.threshold import region_threshold


def _grads(model, x, compact_on: bool, seed: int = 0):
    """Gradients (and the BN running statistics after the step) of one TET-style step, compaction on or off."""
    net = memory.compact(copy.deepcopy(model), compact_on, min_bytes=0)  # the tiny tensors too
    torch.manual_seed(seed)  # the window SNN draws Bernoulli spikes in training
    out = net(x)
    out.float().square().mean().backward()
    grads = {n: p.grad for n, p in net.named_parameters() if p.grad is not None}
    return grads, {n: b.clone() for n, b in net.named_buffers()}


def _assert_identical(model, x):
    (g_off, b_off), (g_on, b_on) = _grads(model, x, False), _grads(model, x, True)
    assert g_off and g_off.keys() == g_on.keys()
    for name in g_off:
        assert torch.equal(g_off[name], g_on[name]), name
    for name in b_off:  # running statistics updated once per step, not again by the recompute
        assert torch.equal(b_off[name], b_on[name]), name


CASES = {
    "vggsnn": (lambda: fastlif.models.vggsnn(T=2, input_size=16), (2, 2, 2, 16, 16)),
    "snn5-tebn": (lambda: fastlif.models.snn5(T=2, input_size=16, norm="tebn"), (2, 3, 16, 16)),
    "digits-bntt": (lambda: fastlif.models.digits_cnn(T=3, norm="bntt"), (3, 1, 8, 8)),
    "digits-tdbn": (lambda: fastlif.models.digits_cnn(T=3, norm="tdbn"), (3, 1, 8, 8)),
    "resnet19": (lambda: fastlif.models.resnet19(T=2), (2, 3, 8, 8)),
    "resnet19-tdbn-events": (lambda: fastlif.models.resnet19(T=2, variant="tdbn"), (2, 2, 3, 8, 8)),
    "spiking_resnet34": (lambda: fastlif.models.spiking_resnet34(T=2, num_classes=10), (1, 3, 32, 32)),
    "sew_resnet34": (lambda: fastlif.models.sew_resnet34(T=2, num_classes=10), (1, 3, 32, 32)),
    "window_snn_tiny": (lambda: fastlif.models.get("window_snn_tiny", T=2), (2, 1, 8, 8)),
    "window_snn_tiny-linear": (lambda: fastlif.models.get("window_snn_tiny", T=2, synapse="linear"), (2, 1, 8, 8)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_every_model_family_gets_identical_gradients_fp32(case):
    build, shape = CASES[case]
    torch.manual_seed(0)
    model = build().train()
    _assert_identical(model, torch.rand(shape) * 1.5)


@pytest.mark.parametrize("case", ["vggsnn", "resnet19", "digits-bntt", "snn5-tebn", "window_snn_tiny"])
def test_identical_gradients_bf16(case):
    build, shape = CASES[case]
    torch.manual_seed(0)
    model = build().train().to(torch.bfloat16)
    _assert_identical(model, (torch.rand(shape) * 1.5).to(torch.bfloat16))


def test_models_are_built_with_the_switch_off_and_keep_less_with_it_on():
    torch.manual_seed(0)
    model = fastlif.models.vggsnn(T=2, input_size=16).train()
    assert not memory.is_compact(model) and not model.compact_by_default
    memory.compact(model, min_bytes=0)  # these test sizes are under the default MIN_BYTES
    x = torch.rand(2, 2, 2, 16, 16)
    exclude = [x, *model.parameters()]
    on = memory.saved_bytes(lambda: model(x), exclude)
    off = memory.saved_bytes(lambda: memory.compact(copy.deepcopy(model), False)(x), exclude)
    # off: per conv→BN→LIF layer the conv input (spikes), the BN input and the LIF input; on: the BN input and bits
    assert on < 0.4 * off


def test_switch_survives_deepcopy_and_leaves_the_state_dict_alone():
    model = memory.compact(fastlif.models.digits_cnn())
    keys = set(model.state_dict())
    clone = memory.compact(copy.deepcopy(model), False)
    assert memory.is_compact(model) and not memory.is_compact(clone)
    assert set(clone.state_dict()) == keys
    assert memory.is_compact(memory.compact(clone))


class PooledSpikes(nn.Module):
    """LIF → 2×2 average pool → Linear: the Linear saves averaged (non-binary) spikes, which must not be packed."""

    def __init__(self):
        super().__init__()
        self.lif = fastlif.LIFSequence()
        self.pool = fastlif.nn.TimeFolded(nn.AvgPool2d(2))
        self.fc = nn.Linear(4 * 2 * 2, 3)

    def forward(self, x):
        return self.fc(self.pool(self.lif(x)).flatten(2))


class ScaledSpikes(nn.Module):
    """LIF whose spikes are modified in place before a Linear saves them: no longer binary, must not be packed."""

    def __init__(self):
        super().__init__()
        self.lif = fastlif.LIFSequence()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        s = self.lif(x)
        s.mul_(0.75)
        return self.fc(s)


class RegionThresholded(nn.Module):
    """LIF spikes averaged over overlapping windows, then region-thresholded (values 0, 1 and below th_r)."""

    def __init__(self):
        super().__init__()
        self.lif = fastlif.LIFSequence()
        self.fc = nn.Linear(6, 3)

    def forward(self, x):
        s = self.lif(x)
        median = (s + s.roll(1, dims=-1)) / 2
        return self.fc(region_threshold(median, th_r=0.6))


@pytest.mark.parametrize("module, shape", [(PooledSpikes, (3, 2, 4, 4, 4)), (ScaledSpikes, (3, 2, 6)),
                                           (RegionThresholded, (3, 2, 6))])
def test_tensors_not_known_binary_are_never_packed(module, shape):
    torch.manual_seed(0)
    model = module()
    x = (torch.randn(shape) * 2).requires_grad_()
    _assert_identical(model, x)


def test_packing_only_the_spikes_a_layer_saves():
    model = memory.compact(ScaledSpikes(), min_bytes=0)
    model.forward = nn.Module.__call__.__get__(model.fc)  # Linear straight on the input: nothing binary to pack
    x = torch.randn(4, 6, requires_grad=True)
    assert memory.saved_bytes(lambda: model(x), [model.fc.weight]) == x.numel() * 4


def test_context_manager_on_a_custom_model():
    torch.manual_seed(0)
    model = nn.Sequential(fastlif.nn.TimeFolded(nn.Conv2d(2, 8, 3, padding=1)), fastlif.nn.TdBatchNorm2d(8),
                          fastlif.LIFSequence(), fastlif.nn.TimeFolded(nn.Conv2d(8, 8, 3, padding=1)))
    x = torch.rand(3, 2, 2, 6, 6)
    exclude = [x, *model.parameters()]
    plain = memory.saved_bytes(lambda: model(x), exclude)
    with memory.compact_activations(min_bytes=0):
        small = memory.saved_bytes(lambda: model(x), exclude)
    n = 3 * 2 * 8 * 6 * 6
    # plain: BN input, LIF input, conv input (spikes), BN's per-channel statistics; compact: the LIF input and the
    # spikes' full-size copy are gone, the spikes' bits are added
    assert plain - small == 2 * n * 4 - n // 8


def test_residual_add_is_recomputed():
    torch.manual_seed(0)
    bn, lif1, lif2 = fastlif.nn.TdBatchNorm2d(4), fastlif.LIFSequence(), fastlif.LIFSequence()
    x, z = torch.rand(2, 2, 4, 3, 3, requires_grad=True), torch.rand(2, 2, 4, 3, 3, requires_grad=True) * 2
    exclude = [x, z, *bn.parameters()]
    with memory.compact_activations(min_bytes=0):
        summed = memory.saved_bytes(lambda: lif2(memory.residual_add(bn(x), lif1(z))), exclude)
        plain = memory.saved_bytes(lambda: lif2(bn(x) + lif1(z)), exclude)
    n = x.numel()
    assert plain - summed == n * 4 - n // 8  # the neuron's input kept, against the shortcut spikes' bits
    assert torch.equal(memory.residual_add(x, z), x + z)


def test_in_place_change_before_backward_is_an_error():
    model = memory.compact(fastlif.models.digits_cnn(), min_bytes=0).train()
    out = model(torch.rand(2, 1, 8, 8))
    with torch.no_grad():
        model.features[0].bn.weight.add_(1.0)
    with pytest.raises(RuntimeError, match="modified in place"):
        out.sum().backward()


def test_bad_arguments_name_themselves():
    with pytest.raises(TypeError, match="model must be"):
        memory.compact("resnet19")
    with pytest.raises(TypeError, match="enabled must be"):
        memory.compact(nn.Linear(2, 2), enabled=1)


def test_tensors_under_min_bytes_are_kept_as_they_are():
    lif, fc = fastlif.LIFSequence(), nn.Linear(16, 3)
    x = torch.randn(4, 2, 16) * 2  # spikes of 128 fp32 elements = 512 bytes, saved by the Linear
    for min_bytes, expected in ((513, 512), (512, 128 // 8)):
        with memory.compact_activations(min_bytes=min_bytes):
            assert memory.saved_bytes(lambda: fc(lif(x)), [x, *fc.parameters()]) == expected
    model = memory.compact(nn.Sequential(lif, fc), min_bytes=512)
    assert copy.deepcopy(model).compact_min_bytes == 512


def test_min_bytes_is_checked():
    with pytest.raises(ValueError, match="min_bytes must be >= 0"):
        memory.compact(nn.Linear(2, 2), min_bytes=-1)
    with pytest.raises(TypeError, match="min_bytes must be an int"):
        with memory.compact_activations(min_bytes=1.5):
            pass


def test_importing_memory_first_still_builds_models():
    # fastlif.nn imports fastlif.memory (SpikingNet installs the switch) and fastlif.memory reads fastlif.nn's norms:
    # importing fastlif.memory first must not leave SpikingNet holding the submodule instead of the function
    code = "from fastlif import memory; import fastlif.models as m; m.get('digits_cnn'); print('ok')"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.stdout.strip() == "ok", done.stderr


def test_tebn_keeps_nothing_full_size_for_its_step_scale():
    # TEBN's y * p[t] saves the shared BN's output y: recomputed like a norm's output, so TEBN keeps what tdBN does
    # plus its per-step scale (T floats)
    torch.manual_seed(0)
    x = torch.rand(3, 2, 4, 5, 5)
    saved = {}
    for norm in ("tdbn", "tebn"):
        layer = nn.Sequential(fastlif.nn.make_norm(norm, 4, steps=3), fastlif.LIFSequence())
        with memory.compact_activations(min_bytes=0):
            saved[norm] = memory.saved_bytes(lambda: layer(x), [x, *layer.parameters()])
    assert saved["tebn"] - saved["tdbn"] <= 3 * 4
