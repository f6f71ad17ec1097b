"""Non-spiking token mixers for the supplement's ResMLP12- and ViT12-style comparison networks (§5).

The supplement describes them only as layer strings ("ResMLP12: 48, F-48-shortcut, 48, PM, 96, F-96-shortcut, 96,
PM, (192, F-192-shortcut)×3, 384, F-384, 384, C"; ViT12 the same with "MLP-d"). Read here as: the same backbone
(patch embedding, patch merging "PM", mean-pool head "C") with one block per stage at 48, 96 and 384 channels and
three at 192 — six blocks of (token mixer + channel MLP), twelve layers — whose token mixer is

* ``CrossPatchMixer``: ResMLP's cross-patch Linear over the token axis (N → N, shared across channels);
* ``AttentionMixer``: ViT's multi-head self-attention over the tokens, pre-LayerNorm, 48 channels per head.

Both return the mixer's contribution; the block adds the shortcut.
"""
from __future__ import annotations

from torch import nn

HEAD_DIM = 48
TOKEN_MIXERS = ("spiking", "resmlp", "attention")


class CrossPatchMixer(nn.Module):
    """Linear(N → N) across the N = H·W tokens of a fixed-size map; channels share it (ResMLP)."""

    def __init__(self, tokens: int):
        super().__init__()
        self.tokens = tokens
        self.mix = nn.Linear(tokens, tokens)

    def forward(self, x):
        b, h, w, c = x.shape
        if h * w != self.tokens:
            raise ValueError(f"x: this cross-patch mixer was built for {self.tokens} tokens, got a {h}x{w} map")
        return self.mix(x.reshape(b, h * w, c).transpose(1, 2)).transpose(1, 2).reshape(b, h, w, c)


class AttentionMixer(nn.Module):
    """Pre-norm multi-head self-attention over the tokens (ViT), ``max(1, dim // 48)`` heads."""

    def __init__(self, dim: int):
        super().__init__()
        heads = max(1, dim // HEAD_DIM)
        if dim % heads:
            raise ValueError(f"dim = {dim} is not divisible by its {heads} attention heads")
        self.norm = nn.LayerNorm(dim)
        self.attn = nn.MultiheadAttention(dim, heads, batch_first=True)

    def forward(self, x):
        b, h, w, c = x.shape
        t = self.norm(x.reshape(b, h * w, c))
        return self.attn(t, t, t, need_weights=False)[0].reshape(b, h, w, c)
