"""Rate (Bernoulli) encoding of the real-valued features that enter the spiking cell.

The public code fires a neuron where ``x > torch.rand(...)``: a Bernoulli draw with probability p = clamp(x, 0, 1),
with no gradient reaching x. Here:

* ``"bernoulli"`` (default): s ~ Bernoulli(p) with a straight-through gradient dp/dx (1 on (0, 1), 0 outside),
  so the token mixer also trains the layers before it. The caller passes a freshly seeded generator in eval mode
  (``SpikingWindowMixer`` does), which keeps eval outputs deterministic while the cell still sees binary spikes —
  what its synaptic-operation (energy) count assumes.
* ``"expectation"``: always p (deterministic, smooth, but the cell's first synapse then sees real values).
* ``"direct"``: x itself, no encoding (real-valued input current, as direct-encoded SNNs use).

The whole map is encoded once before it is cut into windows, so a pixel shared by overlapping dilated windows
carries the same draw in each (the public code draws per window).
"""
from __future__ import annotations

import torch

ENCODINGS = ("bernoulli", "expectation", "direct")


def check_encoding(name: str) -> str:
    if name not in ENCODINGS:
        raise ValueError(f"encoding must be one of {ENCODINGS}, got {name!r}")
    return name


def rate_encode(x: torch.Tensor, encoding: str = "bernoulli", generator: torch.Generator | None = None) -> torch.Tensor:
    """Encode ``x`` as described in the module docstring (``generator`` drives the Bernoulli draws)."""
    check_encoding(encoding)
    if encoding == "direct":
        return x
    p = x.clamp(0.0, 1.0)
    if encoding == "expectation":
        return p
    return torch.bernoulli(p.detach(), generator=generator) + (p - p.detach())  # exact 0/1, gradient dp/dx
