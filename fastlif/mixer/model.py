"""The ACML'23 general SNN backbone: patch embedding, stages of spiking-window-mixer blocks, patch merging, head.

Default (``spiking_mixer()``, the public code's ``sequencer2d_s``): 2×2 stride-2 patch embedding 3 → 48, four stages
of [2, 2, 6, 2] blocks at widths [48, 96, 192, 384] with patch merging between them, head = spatial mean → Linear.
Blocks alternate plain / dilated windows, counted over the whole network and starting with plain, except in the
last stage, which is all plain (its 2×2 map at CIFAR size has no room for overlapping windows).

Model contract of fastlif.models (``SpikingNet``): ``model(x, T=None) -> O`` of shape `[T, B, classes]`, the input
encoded as for every model (a static image repeated T times, an event sequence as given or its first T frames), and
``neuron=dict(...)`` taking every LIFSequence option but the state-carrying ones (the cell carries the membrane from
window to window itself). The network's latency is one time step, so T = None means the model's ``T``, 1 unless
built otherwise. A static input with T > 1 gives T independent one-step passes: independent Bernoulli draws in
training; in eval, where the draws are seeded per block, T identical outputs, computed once. A sequence input runs
every frame as its own one-step pass. No state survives from one call, or one step, to the next.

``membrane_map=True`` (off by default: the supplement does not mention it) carries the cells' per-pixel layer-1
membrane map from block to block as the public LSTM-window code does (cell.py says how a block starts from it).
That code's map would change size and width at a patch merging (its down-sampling of the map is commented out);
here the map is carried within a stage and every stage's first block starts from rest.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_int
from ..nn.spiking_net import SpikingNet, neuron_options
from ..nn.time_layout import FOLDED, ONCE, time_layout
from .baselines import TOKEN_MIXERS, AttentionMixer, CrossPatchMixer
from .block import MixerBlock, SpikingWindowMixer
from .patches import PatchEmbed, PatchMerging
from .windows import layout

DEPTHS = {12: (2, 2, 6, 2), 20: (2, 2, 14, 2), 24: (2, 2, 18, 2), 36: (2, 2, 30, 2)}
DEFAULT_DIMS = (48, 96, 192, 384)


def window_modes(layers, dilate: bool = True) -> list[list[str]]:
    """Per stage, each block's window mode: plain/dilated alternating over all but the last stage."""
    modes, count = [], 0
    for s, n in enumerate(layers):
        stage = []
        for _ in range(n):
            last = s == len(layers) - 1
            stage.append("dilated" if dilate and not last and count % 2 else "plain")
            count += 0 if last else 1
        modes.append(stage)
    return modes


def stage_sides(input_size: int, patch: int, stages: int) -> list[int]:
    """Side of the feature map in each stage: input/patch, then halved (rounded up) by each patch merging."""
    sides = [input_size // patch]
    for _ in range(stages - 1):
        sides.append((sides[-1] + 1) // 2)
    return sides


def check_input_size(input_size, patch: int, modes) -> int:
    """``input_size`` if every stage's windows fit its map, else ValueError naming the stage that fails."""
    check_int("input_size", input_size)
    for s, (side, stage_modes) in enumerate(zip(stage_sides(input_size, patch, len(modes)), modes)):
        for mode in set(stage_modes):
            try:
                layout(side, side, mode)
            except ValueError as err:
                raise ValueError(f"input_size = {input_size} leaves a {side}x{side} map in stage {s}, too small for "
                                 f"{mode} windows ({err}); use fewer stages, a smaller patch, or "
                                 "spiking_mixer_tiny for 8x8 inputs") from None
    return input_size


# LIFSequence options that carry state across calls: the window cell hands the membrane on itself.
STATE_OPTIONS = ("stateful", "detach_state", "v_init")


def cell_neuron_options(neuron) -> dict:
    """The models' shared ``neuron=dict(...)`` keyword, checked as for every model, less the state options."""
    options = neuron_options(neuron)
    carried = sorted(set(options) & set(STATE_OPTIONS))
    if carried:
        raise TypeError(f"neuron: the window cell carries the membrane itself and takes no {carried}")
    return options


def _lecun_normal_(weight: torch.Tensor) -> None:
    """Truncated normal with variance 1/fan_in (timm's ``lecun_normal_``, used by the public code for convs)."""
    fan_in = weight[0].numel()
    std = math.sqrt(1.0 / fan_in) / 0.87962566103423978  # undo the variance lost by truncating at ±2σ
    nn.init.trunc_normal_(weight, std=std, a=-2 * std, b=2 * std)


class SpikingMixerNet(SpikingNet):
    """See the module docstring; every option of the mixer (``mixer_options``) applies to all blocks.

    ``token_mixer="resmlp"`` or ``"attention"`` swaps the spiking mixer for the supplement's non-spiking
    comparison mixers (baselines.py); ``resmlp12`` and ``vit12`` build those networks.
    """

    fixed_steps = False  # every frame is its own one-step pass: any number of frames is a sequence

    def __init__(self, num_classes: int = 10, in_channels: int = 3, layers=DEPTHS[12], dims=DEFAULT_DIMS,
                 patch: int = 2, mlp_ratio: float = 3.0, dilate: bool = True, *, T: int = 1,
                 input_size: int | None = None, neuron=None, token_mixer: str = "spiking", membrane_map: bool = False,
                 batch_first: bool = False,
                 **mixer_options):
        check_int("num_classes", num_classes)
        check_int("in_channels", in_channels)
        check_int("patch", patch)
        layers, dims = tuple(layers), tuple(dims)
        if not layers or len(layers) != len(dims):
            raise ValueError(f"layers and dims must be non-empty and of equal length, got {layers} and {dims}")
        for i, (n, d) in enumerate(zip(layers, dims)):
            check_int(f"layers[{i}]", n)
            check_int(f"dims[{i}]", d)
        for i in range(len(dims) - 1):
            if dims[i + 1] != 2 * dims[i]:
                raise ValueError(f"patch merging doubles the width: dims[{i + 1}] must be 2*dims[{i}] = "
                                 f"{2 * dims[i]}, got {dims[i + 1]}")
        if token_mixer not in TOKEN_MIXERS:
            raise ValueError(f"token_mixer must be one of {TOKEN_MIXERS}, got {token_mixer!r}")
        if not isinstance(membrane_map, bool):
            raise TypeError(f"membrane_map: expected a bool, got {type(membrane_map).__name__}")
        if token_mixer != "spiking" and (mixer_options or neuron is not None or membrane_map):
            given = sorted(mixer_options) + (["neuron"] if neuron is not None else []) + \
                (["membrane_map"] if membrane_map else [])
            raise TypeError(f"the non-spiking {token_mixer!r} token mixer takes no spiking options, got {given}")
        mixer_options.update(cell_neuron_options(neuron))
        if token_mixer == "resmlp" and input_size is None:
            raise ValueError("input_size is needed by the resmlp token mixer (its Linear spans the tokens)")
        if token_mixer == "spiking":
            modes = window_modes(layers, dilate)
            input_size = None if input_size is None else check_input_size(input_size, patch, modes)
        else:  # no windows: one placeholder per block
            modes = [[None] * n for n in layers]
            input_size = None if input_size is None else check_int("input_size", input_size)
        super().__init__(T, in_channels, input_size, neuron, batch_first)
        self.token_mixer = token_mixer
        self.membrane_map = membrane_map
        self.stochastic = token_mixer == "spiking" and mixer_options.get("encoding", "bernoulli") == "bernoulli"
        self.modes = modes
        sides = None if input_size is None else stage_sides(input_size, patch, len(layers))
        self.stem = PatchEmbed(in_channels, dims[0], patch)
        stages, index = [], 0
        for s, (dim, stage_modes) in enumerate(zip(dims, self.modes)):
            blocks = []
            for mode in stage_modes:  # a distinct eval seed per block: uncorrelated eval draws across blocks
                if token_mixer == "spiking":
                    mixer = SpikingWindowMixer(dim, mode=mode, eval_seed=index, **mixer_options)
                elif token_mixer == "resmlp":
                    mixer = CrossPatchMixer(sides[s] ** 2)
                else:
                    mixer = AttentionMixer(dim)
                blocks.append(MixerBlock(dim, mixer, mlp_ratio))
                index += 1
            if s < len(dims) - 1:
                blocks.append(PatchMerging(dim))
            stages.append(nn.Sequential(*blocks))
        self.stages = nn.Sequential(*stages)
        self.head = nn.Linear(dims[-1], num_classes)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        """The public code's init: xavier-uniform Linear, LeCun-normal conv, zero biases, zero head."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                nn.init.xavier_uniform_(m.weight)
            elif isinstance(m, nn.Conv2d):
                _lecun_normal_(m.weight)
            if isinstance(m, (nn.Linear, nn.Conv2d)) and m.bias is not None:
                nn.init.zeros_(m.bias)
        nn.init.zeros_(self.head.weight)

    def real_valued_layers(self) -> list[str]:
        """Names of the conv/linear/recurrent layers fed real values, not spikes: the stem, the MLPs, patch merging, the head
        and, unless the encoding is Bernoulli, each cell's first synapse. An energy count should price these as
        MACs (``fastlif.energy.SOPCounter(model, T, mac_layers=model.real_valued_layers())``); the rest see spikes.
        """
        spiking = set()
        for name, m in self.named_modules():
            if isinstance(m, SpikingWindowMixer):
                fed_spikes = [m.fc, m.cell.syn2] + ([m.cell.syn1] if m.encoding == "bernoulli" else [])
                spiking.update(id(layer) for part in fed_spikes for layer in part.modules()
                               if layer is not getattr(part, "fc", None))   # a bi-synapse's fc reads its RNN
        return [name for name, m in self.named_modules()
                if isinstance(m, (nn.Conv2d, nn.Linear, nn.RNNBase)) and id(m) not in spiking]

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """`[N, C, H, W]` → pooled features `[N, dims[-1]]`."""
        x = self.stem(x)
        if not self.membrane_map:
            return self.stages(x).mean(dim=(1, 2))
        for stage in self.stages:
            membrane = None     # each stage starts from rest (module docstring)
            for block in stage:
                if isinstance(block, MixerBlock):
                    x, membrane = block.forward_carrying(x, membrane)
                else:
                    x = block(x)
        return x.mean(dim=(1, 2))

    def forward_sequence(self, x: torch.Tensor) -> torch.Tensor:
        steps, batch = x.shape[:2]
        if x.stride(0) == 0 and not (self.training and self.stochastic):
            # A static image repeated (a stride-0 view): without fresh random draws every step is the same pass.
            with time_layout(ONCE):
                return self.head(self.features(x[0])).unsqueeze(0).expand(steps, -1, -1)
        with time_layout(FOLDED):
            return self.head(self.features(x.flatten(0, 1))).reshape(steps, batch, -1)


def spiking_mixer(num_classes: int = 10, *, depth: int | None = None, synapse: str = "cnn", **options):
    """The default CNN-SNN backbone (``depth`` 12, 20, 24 or 36 puts the extra blocks in stage 3)."""
    if depth is not None:
        if "layers" in options:
            raise ValueError("give either depth or layers, not both")
        if depth not in DEPTHS:
            raise ValueError(f"depth must be one of {sorted(DEPTHS)}, got {depth!r}")
        options["layers"] = DEPTHS[depth]
    return SpikingMixerNet(num_classes, synapse=synapse, **options)


def spiking_mixer_tiny(num_classes: int = 10, in_channels: int = 1, **options):
    """A small variant for 8×8 inputs (the embedded digits): patch 1, three stages [2, 2, 2] at widths [16, 32, 64],
    so the maps are 8, 4, 2 and both 8×8 and 4×4 blocks get dilated windows."""
    options.setdefault("layers", (2, 2, 2))
    options.setdefault("dims", (16, 32, 64))
    options.setdefault("patch", 1)
    return spiking_mixer(num_classes, in_channels=in_channels, **options)


RESMLP12_LAYERS = (1, 1, 3, 1)


def resmlp12(num_classes: int = 10, in_channels: int = 3, input_size: int = 32, **options):
    """The supplement's ResMLP12-style comparison network (non-spiking; see baselines.py for the reading)."""
    options.setdefault("layers", RESMLP12_LAYERS)
    return SpikingMixerNet(num_classes, in_channels, input_size=input_size, token_mixer="resmlp", **options)


def vit12(num_classes: int = 10, in_channels: int = 3, **options):
    """The supplement's ViT12-style comparison network (non-spiking self-attention token mixer)."""
    options.setdefault("layers", RESMLP12_LAYERS)
    return SpikingMixerNet(num_classes, in_channels, token_mixer="attention", **options)


def spiking_mixer_lstm(num_classes: int = 10, **options):
    return spiking_mixer(num_classes, synapse="lstm", **options)


def spiking_mixer_bilstm(num_classes: int = 10, **options):
    return spiking_mixer(num_classes, synapse="bilstm", **options)


def spiking_mixer_gru(num_classes: int = 10, **options):
    return spiking_mixer(num_classes, synapse="gru", **options)


def spiking_mixer_rnn(num_classes: int = 10, **options):
    return spiking_mixer(num_classes, synapse="rnn", **options)
