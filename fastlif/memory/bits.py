"""Spike tensors kept 1 bit per spike: ``pack_bits`` / ``unpack_bits``, exact for tensors whose values are 0 or 1.

On CUDA tensors with Triton installed, one Triton kernel each way (``fastlif.triton.bits``); elsewhere plain
vectorised torch, so the same code runs on every device, in a few passes that each read or write the
tensor once: the values are compared with 0 (one byte per element), each group of 8 bytes is read as one int64
word and folded into one byte by three shift-or steps, and unpacking spreads each byte back into a word with the
inverse shift-and-mask steps and converts those bytes to the tensor's dtype in one copy. The bits follow the
tensor's memory order (its logical order when it is contiguous; a channels_last or other dense tensor is packed
and restored in place order, without a transposing copy), little-endian within a byte: element ``8k + i`` is bit
``i`` of byte ``k``. ``unpack_bits`` restores the dtype, shape and — for a dense tensor — the strides, so the
layer reading it back runs the very kernels it ran on the original.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from ..layout import dense_extent

_BITS = 8
# unpack: a byte b7..b0 in the low bits of a word → bit i at bit 8i (each step doubles the number of groups)
_SPREAD = ((28, 0x0000000F0000000F), (14, 0x0003000300030003), (7, 0x0101010101010101))


def is_dense(shape, stride) -> bool:
    """True when a tensor of ``shape`` and ``stride`` fills exactly ``numel`` consecutive slots in some order (no
    gaps, no overlap), so a fresh tensor can take the same strides."""
    return dense_extent(shape, stride) is not None


def _memory_order(t: torch.Tensor) -> tuple | None:
    """The permutation of ``t``'s dims, outermost in memory first, that makes it contiguous; None when ``t`` is
    not dense (it is then packed in logical order and comes back contiguous)."""
    if not is_dense(t.shape, t.stride()):
        return None
    perm = tuple(sorted(range(t.dim()), key=lambda d: (-t.stride(d), -t.shape[d])))
    return perm if t.permute(perm).is_contiguous() else None


def _triton_bits(device: torch.device):
    """``fastlif.triton.bits`` where it runs — CUDA tensors with Triton installed: one pass each way — else None
    (the torch passes below, on any device)."""
    if device.type != "cuda":
        return None
    try:
        from ..triton import bits
    except ImportError:
        return None
    return bits


@dataclass(frozen=True)
class PackedBits:
    """A binary tensor as bits: ``data`` uint8 `[ceil(numel / 8)]` plus what restores the original (``order``:
    the dims in the memory order the bits follow, None for logical order)."""
    data: torch.Tensor
    shape: torch.Size
    stride: tuple
    dtype: torch.dtype
    order: tuple | None

    @property
    def nbytes(self) -> int:
        return self.data.numel()


def pack_bits(t: torch.Tensor) -> PackedBits:
    """``t`` (values 0 or 1, any dtype, any layout) as 1 bit per element. The caller vouches that ``t`` is binary:
    a nonzero value other than 1 would come back as 1."""
    if not isinstance(t, torch.Tensor):
        raise TypeError(f"t must be a torch.Tensor, got {type(t).__name__}")
    order = _memory_order(t)
    values = (t.permute(order) if order is not None else t).reshape(-1)  # a view when dense: no copy
    kernels = _triton_bits(t.device)
    if kernels is not None:
        return PackedBits(kernels.pack(values.contiguous()), t.shape, tuple(t.stride()), t.dtype, order)
    flat = values != 0
    pad = -flat.numel() % _BITS
    if pad:
        flat = torch.cat([flat, flat.new_zeros(pad)])
    words = flat.view(torch.uint8).view(torch.int64)  # 8 booleans (bytes 0/1) per word, fresh so aligned
    for shift in (7, 14, 28):  # fold: byte 0 of each word gathers bit i from byte i (the other bytes are dropped)
        words |= words >> shift
    return PackedBits(words.to(torch.uint8), t.shape, tuple(t.stride()), t.dtype, order)


def unpack_bits(packed: PackedBits) -> torch.Tensor:
    """The tensor ``pack_bits`` was given: same values, dtype, shape, and its strides when it was dense."""
    if not isinstance(packed, PackedBits):
        raise TypeError(f"packed must be a PackedBits, got {type(packed).__name__}")
    device = packed.data.device
    kernels = _triton_bits(device)
    if kernels is not None:
        values = kernels.unpack(packed.data, packed.shape.numel(), packed.dtype)
    else:
        words = packed.data.to(torch.int64)
        for shift, mask in _SPREAD:
            words |= words << shift
            words &= mask
        values = words.view(torch.uint8)[:packed.shape.numel()]  # one byte 0/1 per element, in packing order
    if packed.order is None:
        return values.to(packed.dtype).view(packed.shape)
    out = torch.empty_strided(packed.shape, packed.stride, dtype=packed.dtype, device=device)
    out.permute(packed.order).view(-1).copy_(values)
    return out
