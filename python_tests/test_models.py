"""The seeds' models (fastlif/models): the call contract, shapes, structure, causality and backend independence."""
import math

import pytest
import torch
import torch.nn.functional as F

import fastlif
from fastlif import dispatch, models
from fastlif.models.blocks import SEWBasicBlock, SpikingBasicBlock
from fastlif.neuron import LIFSequence
from fastlif.nn import ConvBN, TdBatchNorm2d

# The fastest exact backend here; "auto" could pick Triton's (slow) CPU interpreter.
FAST = "cpu" if "cpu" in fastlif.backends() else "reference"
NEURON = dict(backend=FAST)

# name → (constructor kwargs, static input shape [B, C, H, W]); resolutions kept tiny for a 2-core CPU.
CASES = {
    "resnet19": (dict(), (1, 3, 8, 8)),  # adaptive pooling: any size works; 8×8 keeps 2-core runs short
    "vggsnn": (dict(input_size=16), (1, 2, 16, 16)),
    "snn5": (dict(input_size=16), (2, 3, 16, 16)),
    "spiking_resnet34": (dict(num_classes=7), (1, 3, 32, 32)),
    "sew_resnet34": (dict(num_classes=7), (1, 3, 32, 32)),
    "digits_cnn": (dict(), (3, 1, 8, 8)),
}
STEPS = {"spiking_resnet34": (1, 2), "sew_resnet34": (1, 2)}


def _build(name, **extra):
    kwargs, shape = CASES[name]
    return models.get(name, neuron=NEURON, **kwargs, **extra), shape


MIXER_MODELS = {"window_snn", "window_snn_tiny", "window_snn_lstm", "window_snn_bilstm", "window_snn_gru",
                 "window_snn_rnn", "resmlp12", "vit12"}  # tested in test_mixer_model.py


def test_registry_lists_every_model():
    assert models.names() == sorted(set(CASES) | MIXER_MODELS)
    with pytest.raises(ValueError, match="unknown model 'resnet18'"):
        models.get("resnet18")
    with pytest.raises(TypeError, match="name must be a string"):
        models.get(19)


@pytest.mark.parametrize("name", sorted(CASES))
def test_static_input_gives_per_step_outputs_at_any_T(name):
    torch.manual_seed(0)
    model, shape = _build(name, T=4)
    model.eval()  # at B=1 a training-mode BN would see a single value per channel at ResNet-34's 1×1 stage
    classes = CASES[name][0].get("num_classes", 10)
    x = torch.rand(shape)
    with torch.no_grad():
        for T in STEPS.get(name, (1, 2, 4)):
            assert model(x, T=T).shape == (T, shape[0], classes)
        if name not in STEPS:
            assert model(x).shape == (4, shape[0], classes)  # T=None: the T given at construction


@pytest.mark.parametrize("name", ["vggsnn", "digits_cnn"])
def test_event_frames_pass_through(name):
    torch.manual_seed(1)
    kwargs, shape = CASES[name]
    model = models.get(name, neuron=NEURON, **{**kwargs, "in_channels": 2}).eval()
    frames = (torch.rand(3, shape[0], 2, *shape[2:]) < 0.3).float()
    with torch.no_grad():
        out = model(frames, T=3)  # fewer frames than the model's T: asked for explicitly
        assert out.shape == (3, shape[0], 10)
        torch.testing.assert_close(model(frames, T=2), out[:2])
    with pytest.raises(ValueError, match="exceeds the 3 frames"):
        model(frames, T=4)


def test_resnet19_has_about_12_63_million_parameters():
    model = models.resnet19(num_classes=10)
    n = sum(p.numel() for p in model.parameters())
    assert abs(n - 12.63e6) / 12.63e6 < 1e-3


def test_resnet19_layout():
    model = models.resnet19(num_classes=10)
    assert (model.stem.conv.in_channels, model.stem.conv.out_channels, model.stem.conv.kernel_size) == (3, 64, (3, 3))
    stages = [model.layer1, model.layer2, model.layer3]
    assert [len(s) for s in stages] == [3, 3, 2]
    assert [s[0].conv2.conv.out_channels for s in stages] == [128, 256, 512]
    assert [s[0].conv1.conv.stride for s in stages] == [(1, 1), (2, 2), (2, 2)]
    projection = model.layer1[0].shortcut.conv
    assert (projection.in_channels, projection.out_channels, projection.kernel_size) == (64, 128, (1, 1))
    assert all(b.shortcut is None for s in stages for b in s[1:])
    assert (model.fc1.layers[0].in_features, model.fc1.layers[0].out_features) == (512, 256)
    assert (model.readout.fc.in_features, model.readout.fc.out_features) == (256, 10)
    assert all(isinstance(m.bn, TdBatchNorm2d) and m.bn.weight.detach().eq(1).all()
               for m in model.modules() if isinstance(m, ConvBN))


def test_resnet19_tdbn_variant_uses_alpha_and_the_threshold():
    model = models.resnet19(variant="tdbn", neuron=dict(threshold=0.5))
    assert model.stem.conv.out_channels == 128 and model.layer1[0].shortcut is None
    torch.testing.assert_close(model.stem.bn.weight.detach(), torch.full((128,), 0.5))
    block = model.layer2[0]
    torch.testing.assert_close(block.conv1.bn.weight.detach(), torch.full((256,), 0.5))
    for bn in (block.conv2.bn, block.shortcut.bn):  # the two BNs meeting at the residual add
        assert bn.alpha == pytest.approx(1 / math.sqrt(2))
        torch.testing.assert_close(bn.weight.detach(), torch.full((256,), 0.5 / math.sqrt(2)))


def test_neuron_options_reach_every_lif_layer():
    opts = dict(decay=0.25, threshold=0.5, surrogate="sigmoid", detach_reset=True, backend="reference")
    model = models.snn5(neuron=opts)
    neurons = [m for m in model.modules() if isinstance(m, LIFSequence)]
    assert len(neurons) == 5
    for n in neurons:
        assert (n.cfg.decay, n.cfg.threshold, n.cfg.surrogate.name, n.cfg.detach_reset, n.backend) == (
            0.25, 0.5, "sigmoid", True, "reference")
    assert len({id(n) for n in neurons}) == 5  # one neuron per layer


def test_spiking_block_fires_after_the_add_and_sew_adds_spikes():
    torch.manual_seed(2)
    spikes = (torch.rand(2, 2, 8, 4, 4) < 0.5).float()
    norm_kw = dict(norm="bn", threshold=1.0, steps=2)
    plain = SpikingBasicBlock(8, 8, 1, lambda: LIFSequence(**NEURON), norm_kw)(spikes)
    assert set(plain.unique().tolist()) <= {0.0, 1.0}
    sew = SEWBasicBlock(8, 8, 1, lambda: LIFSequence(**NEURON), norm_kw)
    out = sew(spikes)
    block_spikes = out - spikes  # SEW ADD with an identity shortcut: block spikes + input spikes
    assert set(block_spikes.unique().tolist()) <= {0.0, 1.0}
    assert out.max() == 2.0


def _calibrate(model, x):
    """One training pass with cumulative BN averaging, so eval-mode statistics match the data and the net fires."""
    for m in model.modules():
        if isinstance(m, torch.nn.modules.batchnorm._BatchNorm):
            m.momentum = None
    model.train()
    with torch.no_grad():
        model(x)
    return model.eval()


@pytest.mark.parametrize("name,norm", [("digits_cnn", "bn"), ("digits_cnn", "tebn"), ("digits_cnn", "bntt"),
                                       ("resnet19", None)])
def test_outputs_are_causal_in_eval_mode(name, norm):
    torch.manual_seed(3)
    kwargs, shape = CASES[name]
    shape = (2,) + shape[1:]
    if norm is not None:
        kwargs = {**kwargs, "norm": norm}
    # A low threshold keeps the untrained head firing, so the outputs really depend on the input.
    # fp64: batch-size-dependent conv rounding can then not flip a spike sitting right at the threshold.
    model = models.get(name, T=3, neuron=dict(NEURON, threshold=0.25), **kwargs).double()
    _calibrate(model, torch.rand(shape, dtype=torch.float64) * 3)
    x = torch.rand(shape, dtype=torch.float64) * 3
    with torch.no_grad():
        full = model(x, T=3)
        for k in (1, 2):
            torch.testing.assert_close(model(x, T=k), full[:k], rtol=1e-9, atol=1e-9)
        # Event input: changing the frames from step 2 on leaves the outputs of steps 0 and 1 alone.
        frames = x.unsqueeze(0).repeat(3, 1, 1, 1, 1)
        changed = frames.clone()
        changed[2:] = torch.rand_like(changed[2:]) * 3
        out_frames, out_changed = model(frames), model(changed)
    torch.testing.assert_close(out_frames, full, rtol=1e-9, atol=1e-9)
    torch.testing.assert_close(out_changed[:2], out_frames[:2], rtol=1e-9, atol=1e-9)
    assert not torch.allclose(out_changed[2:], out_frames[2:])
    assert not torch.allclose(full[:, 0], full[:, 1])  # different samples, different outputs


def test_every_parameter_gets_a_gradient():
    torch.manual_seed(4)
    model = models.digits_cnn(T=3, norm="tebn", neuron=NEURON)
    out = model(torch.rand(4, 1, 8, 8) * 3)
    F.cross_entropy(out.mean(0), torch.tensor([0, 1, 2, 3])).backward()
    for name, p in model.named_parameters():
        assert p.grad is not None and torch.isfinite(p.grad).all(), name
    assert model.features[0].bn.step_scale.grad.abs().sum() > 0


def _device_for(backend):
    """Where a backend runs: CPU tensors for "cpu" (and Triton's interpreter), CUDA tensors otherwise."""
    return torch.device("cpu" if backend == "cpu" or not torch.cuda.is_available() else "cuda")


OTHER_BACKENDS = [b for b in fastlif.backends()
                  if b != "reference" and dispatch.why_unavailable(b, _device_for(b)) is None]


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_backend_does_not_change_outputs_or_gradients(backend):
    device = _device_for(backend)
    torch.manual_seed(5)
    x = (torch.rand(4, 1, 8, 8) * 3).to(device)
    y = torch.tensor([0, 1, 2, 3], device=device)
    results = []
    # Deterministic fp32 convolutions, so the neuron backend is the only difference between the two runs.
    with torch.backends.cudnn.flags(enabled=True, benchmark=False, deterministic=True, allow_tf32=False):
        for b in ("reference", backend):
            torch.manual_seed(6)
            model = models.digits_cnn(T=3, neuron=dict(backend=b)).to(device)
            out = model(x)
            F.cross_entropy(out.mean(0), y).backward()
            results.append((out.detach(), [p.grad for p in model.parameters()]))
    (out_ref, grads_ref), (out_b, grads_b) = results
    torch.testing.assert_close(out_b, out_ref, rtol=1e-5, atol=1e-5)
    for g_b, g_ref in zip(grads_b, grads_ref):
        torch.testing.assert_close(g_b, g_ref, rtol=1e-4, atol=1e-5)


def test_bad_arguments_are_rejected():
    model = models.digits_cnn(neuron=NEURON)
    with pytest.raises(ValueError, match="1 channels"):
        model(torch.zeros(2, 3, 8, 8))
    with pytest.raises(ValueError, match="8x8 images"):
        model(torch.zeros(2, 1, 9, 9))
    with pytest.raises(ValueError, match="static"):
        model(torch.zeros(8, 8))
    with pytest.raises(ValueError, match="T: expected an integer >= 1"):
        model(torch.zeros(2, 1, 8, 8), T=0)
    with pytest.raises(TypeError, match="neuron must be a dict"):
        models.digits_cnn(neuron="lif")
    with pytest.raises(TypeError, match="neuron has an option"):
        models.digits_cnn(neuron=dict(beta=0.5))
    with pytest.raises(ValueError, match="backend"):
        models.digits_cnn(neuron=dict(backend="fpga"))
    with pytest.raises(ValueError, match="variant must be one of"):
        models.resnet19(variant="resnet18")
    with pytest.raises(ValueError, match="input_size must be >= 16"):
        models.vggsnn(input_size=8)
    with pytest.raises(ValueError, match="num_classes: expected an integer >= 1"):
        models.snn5(num_classes=0)
    with pytest.raises(ValueError, match="built for steps = 2"):
        models.digits_cnn(T=2, norm="bntt", neuron=NEURON)(torch.zeros(1, 1, 8, 8), T=3)
