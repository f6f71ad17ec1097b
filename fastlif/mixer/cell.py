"""The spiking window cell: two spiking layers run over the windows G1..G4 in turn, one time step per window.

Per window v (T = 1 latency), with fastlif's LIF (SPEC §1) on `[1, B, h, w, H]`, η = 1, 2 the layer:

    I1[v] = syn1(x_v);   I2[v] = syn2(s1[v]);   V[η, v] = decay·m_η[v−1] + I_η[v]   (the layer's own charge)

and the windows exchange membranes in one of three ways (``pairing``), f being the membrane fusion (fusion.py):

* ``"diagonal"`` (default) — supplement Eq. 4–5: the potential that fires neuron (η, v) is the fusion of its own
  charge V[η, v] with the previous layer's membrane at the previous window, V[η−1, v−1] (the "deepening" and
  "sliding" directions at once): layer 2 fires on f(m1[v−1], V[2, v]); layer 1 is a plain LIF over windows.
  The fused value is what reaches the threshold — the supplement's over-activation argument (§4.2: the plane
  X + Y fires in (th, 2·th) where the sin-cos surface does not) is about exactly that potential.
* ``"window"`` — fastlif's earlier reading, the public CNN-SNN code's update: after window v the layer-2 membrane
  handed on is f(m1[v], m2[v]), both of the same window; layer 2 then integrates it, h2 = decay·f + I2.
* ``"neighbour"`` — the public LSTM-window code as described: layer 1 fuses its membranes of neighbouring windows,
  firing on f(m1[v−1], I1[v]); layer 2 is a plain LIF over windows.

That LSTM-window code also carries a per-pixel layer-1 membrane map from block to block. ``cell(windows, maps)``
takes such a map cut into the same windows (``maps[v]``, the previous block's layer-1 membrane at window v's
pixels) and starts layer 1 of window v from it: from ``maps[v]`` where the pairing hands layer 1 nothing (the first
window; every window under "neighbour"), else from f(maps[v], what the pairing hands on) — the deepening direction
(previous block) fused with the sliding one (previous window). The supplement does not mention a map, so by default
(``maps=None``) every block starts from rest; ``SpikingMixerNet(membrane_map=True)`` turns it on.

The first window has no v − 1: both layers are plain LIF there. With ``fusion="none"`` (f(m1, m2) = m2) and
``carry="reset"``, "diagonal" and "window" are both exactly two ``LIFSequence`` layers over a 4-step sequence.

``carry`` chooses what a layer hands on. The public code's ``mem_update`` restarts the spike from zero on every
window, so the ``(1 − spike)`` reset never acts between windows and the membrane handed on is the pre-reset charge
h. ``carry="membrane"`` (default) reproduces that; ``carry="reset"`` hands on the post-reset state u of SPEC §1.
The code's neurons: decay 0.4, threshold 0.5, and a rectangular surrogate of width 1 (gradient 1 where
|h − 0.5| < 0.5), which is fastlif's ``Rectangle(1.0)``.
"""
from __future__ import annotations

from torch import nn

from ..neuron import LIFSequence
from ..surrogate import Rectangle
from .fusion import DEFAULT_THETA, check_fusion, fuse
from .synapses import make_synapse

CARRIES = ("membrane", "reset")
PAIRINGS = ("diagonal", "window", "neighbour")


class SpikingWindowCell(nn.Module):
    """Two spiking layers, ``syn1: in_dim → hidden`` and ``syn2: hidden → hidden``, carried across windows."""

    def __init__(self, in_dim: int, hidden: int, synapse: str = "cnn", *, decay=0.4, threshold=0.5,
                 surrogate=Rectangle(1.0), fusion: str = "sincos", theta: float = DEFAULT_THETA,
                 carry: str = "membrane", pairing: str = "diagonal", backend: str = "auto", **lif_options):
        super().__init__()
        self.syn1 = make_synapse(synapse, in_dim, hidden)
        self.syn2 = make_synapse(synapse, hidden, hidden)
        # Any other LIFSequence option (reset, v_reset, detach_reset) applies to both layers as in every model.
        neuron = dict(decay=decay, threshold=threshold, surrogate=surrogate, backend=backend, **lif_options)
        self.lif1, self.lif2 = LIFSequence(**neuron), LIFSequence(**neuron)  # v_init comes with each call
        self.fusion, self.theta = check_fusion(fusion, theta)
        if carry not in CARRIES:
            raise ValueError(f"carry must be one of {CARRIES}, got {carry!r}")
        self.carry = carry
        if pairing not in PAIRINGS:
            raise ValueError(f"pairing must be one of {PAIRINGS}, got {pairing!r}")
        self.pairing = pairing
        self.synapse = synapse
        self.lif_width = hidden

    def _spike(self, lif, current, v):
        s, h, u = lif(current.unsqueeze(0), return_state=True, v_init=v)
        return s[0], (h[0] if self.carry == "membrane" else u)

    def _fire(self, lif, potential):
        """Spike on an already integrated (fused) potential: a LIF step from rest, whose charge h is ``potential``."""
        return self._spike(lif, potential, None)

    def _layer(self, lif, current, carried, partner):
        """One layer at one window: plain LIF from ``carried``, or — when ``partner`` (the other membrane of the
        pairing) is given — firing on f(partner, decay·carried + current)."""
        if partner is None:
            return self._spike(lif, current, carried)
        own = current if carried is None else lif.cfg.decay * carried + current
        return self._fire(lif, fuse(self.fusion, partner, own, self.theta))

    def step(self, x, v1=None, v2=None, m1_prev=None):
        """One window: input `[B, h, w, in_dim]`, the carried membranes (None at the first window) and, for
        "diagonal"/"neighbour", the previous window's layer-1 membrane → (spikes `[B, h, w, hidden]`, m1, m2).
        Under "neighbour" ``v1`` is layer 1's own starting membrane (a carried map), None from rest."""
        if self.pairing == "neighbour":
            # the window's own layer-1 charge starts fresh; the neighbour's membrane enters through f only
            s1, m1 = self._layer(self.lif1, self.syn1(x), v1, m1_prev)
        else:
            s1, m1 = self._spike(self.lif1, self.syn1(x), v1)
        partner = m1_prev if self.pairing == "diagonal" else None
        s2, m2 = self._layer(self.lif2, self.syn2(s1), v2, partner)
        return s2, m1, m2

    def forward(self, windows, maps=None, return_membranes: bool = False):
        """Run the windows in order, carrying (and fusing) the membranes → the output spikes, one per window (and
        the layer-1 membranes, one per window, with ``return_membranes``, as ``LIFSequence``'s ``return_state``).
        ``maps``: the carried layer-1 membrane map cut into the same windows (module docstring)."""
        windows = list(windows)
        if maps is not None:
            maps = list(maps)
            if len(maps) != len(windows) or any(m.shape[:-1] != x.shape[:-1] or m.shape[-1] != self.lif_width
                                                 for m, x in zip(maps, windows)):
                raise ValueError(f"maps: expected one [B, h, w, {self.lif_width}] membrane per window, got "
                                 f"{[tuple(m.shape) for m in maps]} for windows {[tuple(x.shape) for x in windows]}")
        v1 = v2 = m1_prev = None
        out, m1s = [], []
        for v, x in enumerate(windows):
            start1 = None if self.pairing == "neighbour" else v1     # what the pairing hands layer 1
            if maps is not None:
                start1 = maps[v] if start1 is None else fuse(self.fusion, maps[v], start1, self.theta)
            s, m1, m2 = self.step(x, start1, v2, m1_prev)
            out.append(s)
            m1s.append(m1)
            if self.pairing == "window":
                v1, v2 = m1, fuse(self.fusion, m1, m2, self.theta)
            else:
                v1, v2, m1_prev = m1, m2, m1
        return (out, m1s) if return_membranes else out

    def extra_repr(self) -> str:
        return (f"synapse={self.synapse!r}, pairing={self.pairing!r}, fusion={self.fusion!r}, theta={self.theta}, "
                f"carry={self.carry!r}")
