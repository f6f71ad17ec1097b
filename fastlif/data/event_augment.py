"""Event-frame augmentation, batch-wise on the training device: TET's and TEBN's recipes.

- ``"flip-roll"`` (TET, Deng et al. 2022, CIFAR10-DVS): flip each sample left-right with probability 1/2, then roll
  it circularly by offsets drawn uniformly from {−5, …, 5} along y and along x (``torch.roll`` semantics).
- ``"crop-flip"`` (TEBN, Duan et al. 2022, which SLT states it followed for DVS-CIFAR10): zero-pad by 4 and cut a
  random 48×48 window (torchvision ``RandomCrop(48, padding=4)``), then flip left-right with probability 1/2.

Either way the same draw applies to all frames of a sample. One call augments a whole batch with one gather; the
random numbers come from a CPU ``torch.Generator`` so a seeded run augments identically on CPU and GPU.
"""
from __future__ import annotations

from typing import Optional

import torch

from .augment import random_crop, random_hflip
from ..checks import check_int
from .frames import resize_frames

__all__ = ["AUGMENTS", "random_flip_roll", "random_crop_flip", "event_prepare"]

AUGMENTS = ("flip-roll", "crop-flip", "none")


def random_flip_roll(x: torch.Tensor, max_shift: int = 5, flip_p: float = 0.5,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Per sample of ``x`` ``[B, ..., H, W]``: flip W with probability ``flip_p``, then roll by (dy, dx)."""
    if not isinstance(x, torch.Tensor) or x.dim() < 3:
        raise ValueError(f"x: expected a batch [B, ..., H, W], got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    check_int("max_shift", max_shift, low=0)
    if not 0.0 <= flip_p <= 1.0:
        raise ValueError(f"flip_p: expected a probability in [0, 1], got {flip_p}")
    B, H, W = x.shape[0], x.shape[-2], x.shape[-1]
    flip = torch.rand(B, generator=generator) < flip_p
    dy = torch.randint(-max_shift, max_shift + 1, (B,), generator=generator)
    dx = torch.randint(-max_shift, max_shift + 1, (B,), generator=generator)
    # roll: out[i] = in[(i - d) mod n]; flip first: column c of the flipped image is column W-1-c of the input.
    rows = (torch.arange(H)[None, :] - dy[:, None]) % H                       # [B, H]
    cols = (torch.arange(W)[None, :] - dx[:, None]) % W                       # [B, W]
    cols = torch.where(flip[:, None], W - 1 - cols, cols)
    dev = x.device
    flat = x.reshape(B, -1, H, W)
    batch = torch.arange(B, device=dev)[:, None, None, None]
    mid = torch.arange(flat.shape[1], device=dev)[None, :, None, None]
    out = flat[batch, mid, rows.to(dev)[:, None, :, None], cols.to(dev)[:, None, None, :]]
    return out.reshape(x.shape)


def random_crop_flip(x: torch.Tensor, padding: int = 4, flip_p: float = 0.5,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Per sample of ``x`` ``[B, ..., H, W]``: zero-pad by ``padding``, cut an H×W window at a random offset, then
    flip W with probability ``flip_p`` — TEBN's ``RandomCrop(padding)`` + ``RandomHorizontalFlip`` on all frames."""
    if not isinstance(x, torch.Tensor) or x.dim() < 3:
        raise ValueError(f"x: expected a batch [B, ..., H, W], got "
                         f"{tuple(x.shape) if isinstance(x, torch.Tensor) else type(x).__name__}")
    if not 0.0 <= flip_p <= 1.0:
        raise ValueError(f"flip_p: expected a probability in [0, 1], got {flip_p}")
    flat = x.reshape(x.shape[0], -1, *x.shape[-2:])        # frames and channels share one crop
    out = random_crop(flat, padding, generator)
    if flip_p > 0:
        out = random_hflip(out, generator, p=flip_p)
    return out.reshape(x.shape)


def event_prepare(size: Optional[int] = None, max_shift: int = 5, flip_p: float = 0.5, augment: str = "flip-roll",
                  crop_padding: int = 4):
    """``prepare(x, train, generator)`` for event batches ``[B, T, C, H, W]`` (the DataBundle hook): float
    frames, area-resized to ``size``×``size`` when given, then in training ``augment``: ``"flip-roll"`` (TET:
    flip with ``flip_p``, roll by up to ``max_shift``), ``"crop-flip"`` (TEBN: crop with ``crop_padding``, flip
    with ``flip_p``) or ``"none"``. Both recipes resize to 48×48 first and augment the resized frames."""
    if augment not in AUGMENTS:
        raise ValueError(f"augment: expected one of {', '.join(AUGMENTS)}, got {augment!r}")

    def prepare(x: torch.Tensor, train: bool, generator: Optional[torch.Generator] = None) -> torch.Tensor:
        x = x.float()
        if size is not None:
            x = resize_frames(x, size)
        if train and augment == "flip-roll" and (max_shift > 0 or flip_p > 0):
            x = random_flip_roll(x, max_shift, flip_p, generator)
        elif train and augment == "crop-flip":
            x = random_crop_flip(x, crop_padding, flip_p, generator)
        return x

    return prepare
