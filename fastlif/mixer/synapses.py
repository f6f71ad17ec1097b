"""Synapses of the spiking window cell: what turns a window's input spikes into the neurons' input current.

Every synapse maps a channels-last window `[B, h, w, C_in]` to `[B, h, w, C_out]`.

* ``"cnn"``: a 3×3 convolution, stride 1, padding 1 (CNN-SNN; the public code's default cell).
* ``"linear"``: a per-token Linear (the "MLP" column of supplement Table 2).
* ``"rnn"``, ``"gru"``, ``"lstm"``: a recurrent layer run over the window's tokens in raster order (RNN-SNN);
  ``"birnn"``, ``"bigru"``, ``"bilstm"``: one bidirectional layer with C_out hidden units per direction, then
  ``Linear(2·C_out → C_out)`` — the public LSTM-window code's synapse (``nn.LSTM(bidirectional=True)`` + fc).
  The recurrent hidden state starts from zero in every window — what is carried from window to window is the
  spiking neurons' membrane, not the RNN state.
"""
from __future__ import annotations

from torch import nn

from ..checks import check_int

_RECURRENT = {"rnn": nn.RNN, "gru": nn.GRU, "lstm": nn.LSTM}
SYNAPSES = ("cnn", "linear") + tuple(_RECURRENT) + tuple("bi" + k for k in _RECURRENT)


class ConvSynapse(nn.Module):
    def __init__(self, in_dim: int, out_dim: int):
        super().__init__()
        self.conv = nn.Conv2d(in_dim, out_dim, kernel_size=3, stride=1, padding=1)

    def forward(self, x):
        # a contiguous NCHW copy: CPU convolution on the permuted window view is several times slower
        return self.conv(x.permute(0, 3, 1, 2).contiguous()).permute(0, 2, 3, 1)


class RecurrentSynapse(nn.Module):
    def __init__(self, kind: str, in_dim: int, out_dim: int):
        super().__init__()
        bidirectional = kind.startswith("bi")
        base = kind[2:] if bidirectional else kind
        self.rnn = _RECURRENT[base](in_dim, out_dim, batch_first=True, bidirectional=bidirectional)
        # the two directions' outputs, 2·out_dim real values per token, mapped back to out_dim
        self.fc = nn.Linear(2 * out_dim, out_dim) if bidirectional else None

    def forward(self, x):
        b, h, w, c = x.shape
        y, _ = self.rnn(x.reshape(b, h * w, c))
        if self.fc is not None:
            y = self.fc(y)
        return y.reshape(b, h, w, -1)


def make_synapse(kind: str, in_dim: int, out_dim: int) -> nn.Module:
    """The synapse ``kind`` (one of ``SYNAPSES``) from ``in_dim`` to ``out_dim`` channels."""
    if kind not in SYNAPSES:
        raise ValueError(f"synapse must be one of {SYNAPSES}, got {kind!r}")
    check_int("in_dim", in_dim)
    check_int("out_dim", out_dim)
    if kind == "cnn":
        return ConvSynapse(in_dim, out_dim)
    if kind == "linear":
        return nn.Linear(in_dim, out_dim)
    return RecurrentSynapse(kind, in_dim, out_dim)
