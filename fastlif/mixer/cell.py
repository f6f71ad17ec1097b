"""The spiking window cell: two spiking layers run over the windows G1..G4 in turn, one time step per window.

Per window (T = 1 latency), with fastlif's LIF (SPEC §1) on `[1, B, h, w, H]`:

    I1 = syn1(x_i);   s1, m1 = LIF(I1, v_init = v1)
    I2 = syn2(s1);    s2, m2 = LIF(I2, v_init = v2)          → s2 is the window's output

and into the next window v1 ← m1, v2 ← fusion(m1, m2) (fusion.py). The window index plays the role of time: with
``carry="reset"`` and ``fusion="none"`` the cell is exactly two ``LIFSequence`` layers over a 4-step sequence.

Where the public code differs, ``carry`` chooses. Its ``mem_update`` restarts the spike from zero on every window, so
the ``(1 − spike)`` reset never acts between windows and the membrane handed on is the pre-reset charge
h = decay·v + I. ``carry="membrane"`` (default) reproduces that; ``carry="reset"`` hands on the post-reset state u
of SPEC §1 instead. The code's neurons: decay 0.4, threshold 0.5, and a rectangular surrogate of width 1
(gradient 1 where |h − 0.5| < 0.5), which is fastlif's ``Rectangle(1.0)``.
"""
from __future__ import annotations

from torch import nn

from ..neuron import LIFSequence
from ..surrogate import Rectangle
from .fusion import DEFAULT_THETA, check_fusion, fuse
from .synapses import make_synapse

CARRIES = ("membrane", "reset")


class SpikingWindowCell(nn.Module):
    """Two spiking layers, ``syn1: in_dim → hidden`` and ``syn2: hidden → hidden``, carried across windows."""

    def __init__(self, in_dim: int, hidden: int, synapse: str = "cnn", *, decay=0.4, threshold=0.5,
                 surrogate=Rectangle(1.0), fusion: str = "sincos", theta: float = DEFAULT_THETA,
                 carry: str = "membrane", backend: str = "auto", **lif_options):
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
        self.synapse = synapse

    def _spike(self, lif, current, v):
        s, h, u = lif(current.unsqueeze(0), return_state=True, v_init=v)
        return s[0], (h[0] if self.carry == "membrane" else u)

    def step(self, x, v1=None, v2=None):
        """One window: input `[B, h, w, in_dim]` → (spikes `[B, h, w, hidden]`, m1, m2)."""
        s1, m1 = self._spike(self.lif1, self.syn1(x), v1)
        s2, m2 = self._spike(self.lif2, self.syn2(s1), v2)
        return s2, m1, m2

    def forward(self, windows):
        """Run the windows in order, carrying (and fusing) the membranes; returns the list of output spikes."""
        v1 = v2 = None
        out = []
        for x in windows:
            s, m1, m2 = self.step(x, v1, v2)
            out.append(s)
            v1, v2 = m1, fuse(self.fusion, m1, m2, self.theta)
        return out

    def extra_repr(self) -> str:
        return f"synapse={self.synapse!r}, fusion={self.fusion!r}, theta={self.theta}, carry={self.carry!r}"
