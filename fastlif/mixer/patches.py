"""Patch embedding and patch merging (Swin-style), channels-last, as in the Sequencer2D backbone."""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


class PatchEmbed(nn.Module):
    """Non-overlapping p×p patches → ``dim`` channels: `[B, C, H, W]` → `[B, H/p, W/p, dim]`."""

    def __init__(self, in_channels: int = 3, dim: int = 48, patch: int = 2):
        super().__init__()
        self.proj = nn.Conv2d(in_channels, dim, kernel_size=patch, stride=patch)

    def forward(self, x):
        return self.proj(x).permute(0, 2, 3, 1)


class PatchMerging(nn.Module):
    """2×2 neighbours concatenated (4C) → Linear(4C → 2C, no bias): halves H and W, doubles C.

    An odd side is zero-padded at the bottom/right first. Concatenation order (0,0), (1,0), (0,1), (1,1) as Swin.
    """

    def __init__(self, dim: int):
        super().__init__()
        self.reduction = nn.Linear(4 * dim, 2 * dim, bias=False)

    def forward(self, x):
        height, width = x.shape[1], x.shape[2]
        if height % 2 or width % 2:
            x = F.pad(x, (0, 0, 0, width % 2, 0, height % 2))
        x = torch.cat([x[:, 0::2, 0::2], x[:, 1::2, 0::2], x[:, 0::2, 1::2], x[:, 1::2, 1::2]], dim=-1)
        return self.reduction(x)
