"""The spiking window mixer and the residual block built around it (a Sequencer2D block with the mixer swapped in).

    block(x) :  x = x + Mixer(x);  x = x + MLP(x)          (x channels-last [B, H, W, C]; no norms, as the code)
    Mixer(x) :  encode → partition into G1..G4 → spiking cell over the windows → weighted condense
                (+ region threshold in dilated mode) → dropout (training, 0 by default) → Linear(hidden → C)
    MLP(x)   :  Linear(C → ratio·C) → GELU → Linear(ratio·C → C)   (timm ``Mlp``; ratio 3)
"""
from __future__ import annotations

import torch
from torch import nn

from ..checks import check_int
from .cell import SpikingWindowCell
from .encoding import check_encoding, rate_encode
from .threshold import DEFAULT_TH_R, check_region_threshold, region_threshold
from .windows import MODES, condense, partition


class SpikingWindowMixer(nn.Module):
    """Token mixer over the four corner windows; ``mode`` is "plain" (disjoint) or "dilated" (overlapping).

    ``cell_options`` go to ``SpikingWindowCell`` (synapse, decay, threshold, surrogate, fusion, theta, carry,
    pairing, backend). ``dropout`` (ACML'23 §5.2: 0.1) drops output spikes in training. The mode is a constructor argument: the public code flips it through a module-level counter.
    In eval mode the Bernoulli encoding draws from a generator seeded with ``eval_seed`` on every call, so the
    same input always gives the same spikes (and the same output); training draws from the global generator.
    """

    def __init__(self, dim: int, hidden: int | None = None, mode: str = "plain", *, encoding: str = "bernoulli",
                 th_r: float = DEFAULT_TH_R, straight_through: bool = True, eval_seed: int = 0, dropout: float = 0.0,
                 **cell_options):
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
        hidden = dim if hidden is None else hidden
        self.mode = mode
        self.encoding = check_encoding(encoding)
        self.th_r = check_region_threshold(th_r)
        self.straight_through = bool(straight_through)
        self.eval_seed = check_int("eval_seed", eval_seed, low=0)
        self.cell = SpikingWindowCell(dim, hidden, **cell_options)
        if isinstance(dropout, bool) or not isinstance(dropout, (int, float)) or not 0 <= dropout < 1:
            raise ValueError(f"dropout must be a probability in [0, 1), got {dropout!r}")
        # ACML'23 §5.2: dropout 0.1 "with a constant dropout mask" — one mask per sample on the mixer's output
        # spikes (at T = 1 there is one step; a static input repeated T times gets T passes, each its own mask)
        self.dropout = nn.Dropout(dropout)
        self.fc = nn.Linear(hidden, dim)

    def _run(self, x, membrane, carrying: bool):
        """(spike map, the cell's layer-1 membrane map `[B, H, W, hidden]` when ``carrying``, else None)."""
        if x.dim() != 4:
            raise ValueError(f"x: expected a channels-last map [B, H, W, C], got shape {tuple(x.shape)}")
        height, width = x.shape[1], x.shape[2]
        generator = None
        if not self.training and self.encoding == "bernoulli":
            generator = torch.Generator(device=x.device)
            generator.manual_seed(self.eval_seed)
        windows = partition(rate_encode(x, self.encoding, generator), self.mode)
        maps = None if membrane is None else partition(membrane, self.mode)
        spikes, m1s = self.cell(windows, maps, return_membranes=True)
        y = condense(spikes, height, width, self.mode)
        if self.mode == "dilated":
            y = region_threshold(y, self.th_r, self.straight_through)
        # overlapping (dilated) windows leave a pixel several layer-1 membranes: the map keeps their mean
        return y, (condense(m1s, height, width, self.mode) if carrying else None)

    def spikes(self, x):
        """The binary (dilated: region-thresholded) spike map `[B, H, W, hidden]` before the output Linear."""
        return self._run(x, None, False)[0]

    def forward(self, x):
        return self.fc(self.dropout(self.spikes(x)))

    def forward_carrying(self, x, membrane=None):
        """``forward`` that also takes and returns the per-pixel layer-1 membrane map `[B, H, W, hidden]` the public
        LSTM-window code carries from block to block (cell.py); ``membrane=None`` starts from rest."""
        y, membrane = self._run(x, membrane, True)
        return self.fc(self.dropout(y)), membrane

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}, encoding={self.encoding!r}, th_r={self.th_r}, eval_seed={self.eval_seed}"


class Mlp(nn.Module):
    def __init__(self, dim: int, ratio: float = 3.0):
        super().__init__()
        hidden = int(ratio * dim) if isinstance(ratio, (int, float)) and not isinstance(ratio, bool) else 0
        if hidden < 1:
            raise ValueError(f"mlp_ratio must be a number giving at least one hidden unit, got {ratio!r}")
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.fc2 = nn.Linear(hidden, dim)

    def forward(self, x):
        return self.fc2(self.act(self.fc1(x)))


class MixerBlock(nn.Module):
    """x + mixer(x), then x + MLP(x); ``mixer`` is any module on `[B, H, W, C]` keeping the shape."""

    def __init__(self, dim: int, mixer: nn.Module, mlp_ratio: float = 3.0):
        super().__init__()
        self.mixer = mixer
        self.mlp = Mlp(dim, mlp_ratio)

    def forward(self, x):
        x = x + self.mixer(x)
        return x + self.mlp(x)

    def forward_carrying(self, x, membrane=None):
        """``forward`` with the spiking mixer's membrane map in and out (``SpikingWindowMixer.forward_carrying``)."""
        y, membrane = self.mixer.forward_carrying(x, membrane)
        x = x + y
        return x + self.mlp(x), membrane
