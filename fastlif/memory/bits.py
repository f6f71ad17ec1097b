"""Spike tensors kept 1 bit per spike: ``pack_bits`` / ``unpack_bits``, exact for tensors whose values are 0 or 1.

Plain vectorised torch, so the same code runs on every device: the values are compared with 0, grouped in bytes of
8 (little-endian bit order), and restored as exact 0.0 / 1.0 in the tensor's dtype, shape and — for a dense tensor
(contiguous, channels_last or any other dense permutation) — strides, so the layer reading it back runs the very
kernels it ran on the original.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..layout import dense_extent

_BITS = 8


def _weights(device: torch.device) -> torch.Tensor:
    return torch.tensor([1 << i for i in range(_BITS)], dtype=torch.uint8, device=device)


def is_dense(shape, stride) -> bool:
    """True when a tensor of ``shape`` and ``stride`` fills exactly ``numel`` consecutive slots in some order (no
    gaps, no overlap), so a fresh tensor can take the same strides."""
    return dense_extent(shape, stride) is not None


@dataclass(frozen=True)
class PackedBits:
    """A binary tensor as bits: ``data`` uint8 `[ceil(numel / 8)]` plus what restores the original."""
    data: torch.Tensor
    shape: torch.Size
    stride: tuple
    dtype: torch.dtype

    @property
    def nbytes(self) -> int:
        return self.data.numel()


def pack_bits(t: torch.Tensor) -> PackedBits:
    """``t`` (values 0 or 1, any dtype, any layout) as 1 bit per element. The caller vouches that ``t`` is binary:
    a nonzero value other than 1 would come back as 1."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
    flat = t.reshape(-1) != 0  # logical (row-major) order, whatever t's strides
    pad = -flat.numel() % _BITS
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    data = (flat.view(-1, _BITS).to(torch.uint8) * _weights(t.device)).sum(dim=1, dtype=torch.uint8)
    return PackedBits(data, t.shape, tuple(t.stride()), t.dtype)


def unpack_bits(packed: PackedBits) -> torch.Tensor:
    """The tensor ``pack_bits`` was given: same values, dtype, shape, and its strides when it was dense."""
    if not isinstance(packed, PackedBits):
        raise TypeError(f"packed must be a PackedBits, got {type(packed).__name__}")
    numel = packed.shape.numel()
    bits = (packed.data.unsqueeze(1) & _weights(packed.data.device)) != 0
    values = bits.view(-1)[:numel].to(packed.dtype).view(packed.shape)
    if not is_dense(packed.shape, packed.stride):  # a strided view comes back contiguous
        return values
    out = torch.empty_strided(packed.shape, packed.stride, dtype=packed.dtype, device=packed.data.device)
    return out.copy_(values)

