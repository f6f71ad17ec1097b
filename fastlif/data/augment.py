"""Batch-wise image augmentation on the training device (TET/SLT CIFAR recipe).

Every function takes a whole batch ``[B, C, H, W]`` and draws its random numbers (B of them, a few bytes) from a
CPU ``torch.Generator``, so a seeded run augments identically on CPU and GPU and resumes exactly.
"""
from __future__ import annotations

from typing import Optional, Sequence

import torch
import torch.nn.functional as F

__all__ = ["random_crop", "random_hflip", "cutout", "normalize", "image_prepare"]


def _check_batch(x: torch.Tensor) -> None:
    if not isinstance(x, torch.Tensor) or x.dim() != 4:
        raise ValueError(f"x: expected an image batch [B, C, H, W], got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")


def _randint(high: int, n: int, generator: Optional[torch.Generator], device) -> torch.Tensor:
    return torch.randint(0, high, (n,), generator=generator).to(device)


def random_crop(x: torch.Tensor, padding: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Zero-pad by ``padding`` on every side, then cut an H×W window at a random offset per image."""
    _check_batch(x)
    if padding < 0:
        raise ValueError(f"padding: expected >= 0, got {padding}")
    if padding == 0:
        return x
    B, C, H, W = x.shape
    xp = F.pad(x, (padding, padding, padding, padding))
    oy = _randint(2 * padding + 1, B, generator, x.device)
    ox = _randint(2 * padding + 1, B, generator, x.device)
    rows = (oy[:, None] + torch.arange(H, device=x.device))[:, :, None]  # [B, H, 1]
    cols = (ox[:, None] + torch.arange(W, device=x.device))[:, None, :]  # [B, 1, W]
    batch = torch.arange(B, device=x.device)[:, None, None]
    # Advanced indexing on the channels-last view gathers all B windows in one kernel.
    return xp.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2).contiguous()


def random_hflip(x: torch.Tensor, generator: Optional[torch.Generator] = None, p: float = 0.5) -> torch.Tensor:
    """Mirror each image left-right with probability ``p``."""
    _check_batch(x)
    flip = (torch.rand(x.shape[0], generator=generator) < p).to(x.device)
    return torch.where(flip[:, None, None, None], x.flip(-1), x)


def cutout(x: torch.Tensor, size: int, generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Zero one ``size``×``size`` square per image (DeVries & Taylor 2017): the centre is uniform over the image
    and the square is clipped at the border, as in the cutout code the TET/SLT training scripts use (which run it on
    [0, 1] pixels, before normalisation — see ``image_prepare``)."""
    _check_batch(x)
    if size < 0:
        raise ValueError(f"size: expected >= 0, got {size}")
    if size == 0:
        return x
    B, C, H, W = x.shape
    cy = _randint(H, B, generator, x.device)[:, None]
    cx = _randint(W, B, generator, x.device)[:, None]
    ys = torch.arange(H, device=x.device)[None, :]
    xs = torch.arange(W, device=x.device)[None, :]
    in_y = (ys >= cy - size // 2) & (ys < cy + size // 2)  # [B, H]
    in_x = (xs >= cx - size // 2) & (xs < cx + size // 2)  # [B, W]
    hole = in_y[:, None, :, None] & in_x[:, None, None, :]
    return x.masked_fill(hole, 0.0)


def normalize(x: torch.Tensor, mean: Sequence[float], std: Sequence[float]) -> torch.Tensor:
    """Per-channel ``(x - mean) / std``."""
    _check_batch(x)
    if len(mean) != x.shape[1] or len(std) != x.shape[1]:
        raise ValueError(f"mean/std: expected {x.shape[1]} values each (one per channel), "
                         f"got {len(mean)} and {len(std)}")
    m = torch.tensor(mean, dtype=x.dtype, device=x.device)[None, :, None, None]
    s = torch.tensor(std, dtype=x.dtype, device=x.device)[None, :, None, None]
    return (x - m) / s


def image_prepare(mean: Sequence[float], std: Sequence[float], *, crop_padding: int = 4, flip: bool = True,
                  cutout_size: int = 0, scale: float = 1.0 / 255.0):
    """The CIFAR pipeline of the TET/SLT scripts as one batch function ``prepare(x, train, generator)``:
    scale to [0, 1] → (train) random crop with zero padding, horizontal flip, cutout → normalise.

    Both seed codes (``build_cifar``) put ``Cutout`` before ``Normalize``: the hole is 0 in [0, 1] pixel units, so
    after normalisation it holds ``−mean/std`` per channel, as do the crop's zero-padded borders."""
    mean, std = tuple(mean), tuple(std)

    def prepare(x: torch.Tensor, train: bool, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        x = x.float() * scale
        if train:
            x = random_crop(x, crop_padding, generator)
            if flip:
                x = random_hflip(x, generator)
            x = cutout(x, cutout_size, generator)
        return normalize(x, mean, std)

    return prepare
