"""Rate (Bernoulli) encoding of the real-valued features that enter the spiking cell.

The public code fires a neuron where ``x > torch.rand(...)``: a Bernoulli draw with probability p = clamp(x, 0, 1),
with no gradient reaching x. Here:

* ``"bernoulli"`` (default): training draws s ~ Bernoulli(p) with a straight-through gradient dp/dx (1 on (0, 1),
  0 outside), so the token mixer also trains the layers before it; evaluation feeds the expectation p instead,
  which makes eval-mode outputs deterministic without a seeded generator.
* ``"expectation"``: always p (deterministic in training too — useful for tests and ablations).
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


def rate_encode(x: torch.Tensor, encoding: str = "bernoulli", training: bool = True) -> torch.Tensor:
    """Encode ``x`` as described in the module docstring."""
    check_encoding(encoding)
    if encoding == "direct":
        return x
    p = x.clamp(0.0, 1.0)
    if encoding == "expectation" or not training:
        return p
    return torch.bernoulli(p.detach()) + (p - p.detach())  # exact 0/1 values, gradient dp/dx
