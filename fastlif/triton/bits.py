"""Triton kernels for ``fastlif.memory.bits`` on the GPU: a binary tensor's values, in memory order, to 1 bit each
and back, each in one pass (the torch version takes several passes over int64 words).

The bit order is ``fastlif.memory.bits``'s: element ``8k + i`` is bit ``i`` (little-endian) of byte ``k``, so the
two implementations read each other's output. Each program handles ``BLOCK`` bytes, i.e. ``8 · BLOCK`` elements,
as a ``[BLOCK, 8]`` tile: packing tests each element against 0, shifts it to its bit and sums a row; unpacking
shifts each byte right by 0..7 and keeps the low bit.
"""
from __future__ import annotations

import torch
import triton
import triton.language as tl

_BITS = 8
BLOCK = 1024  # bytes per program: 8192 elements


@triton.jit
def _pack_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    byte = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    lane = tl.arange(0, 8)
    elem = byte[:, None] * 8 + lane[None, :]
    v = tl.load(src_ptr + elem, mask=elem < n, other=0)
    bits = (v != 0).to(tl.int32) << lane[None, :]
    tl.store(dst_ptr + byte, tl.sum(bits, axis=1).to(tl.uint8), mask=byte * 8 < n)


@triton.jit
def _unpack_kernel(src_ptr, dst_ptr, n, BLOCK: tl.constexpr):
    byte = tl.program_id(0).to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    lane = tl.arange(0, 8)
    b = tl.load(src_ptr + byte, mask=byte * 8 < n, other=0).to(tl.int32)
    elem = byte[:, None] * 8 + lane[None, :]
    v = (b[:, None] >> lane[None, :]) & 1
    # Through fp32: Triton's interpreter turns an int32 into bf16 by its bits, not its value.
    tl.store(dst_ptr + elem, v.to(tl.float32).to(dst_ptr.dtype.element_ty), mask=elem < n)


def pack(flat: torch.Tensor) -> torch.Tensor:
    """uint8 ``[ceil(n / 8)]``: bit ``i`` of byte ``k`` is ``flat[8k + i] != 0``. ``flat``: 1-D, contiguous."""
    n = flat.numel()
    out = torch.empty(-(-n // _BITS), dtype=torch.uint8, device=flat.device)
    if n:
        _pack_kernel[(triton.cdiv(out.numel(), BLOCK),)](flat, out, n, BLOCK=BLOCK)
    return out


def unpack(data: torch.Tensor, n: int, dtype: torch.dtype) -> torch.Tensor:
    """The first ``n`` bits of ``data`` (uint8, as ``pack`` wrote them) as 0/1 values of ``dtype``, 1-D."""
    out = torch.empty(n, dtype=dtype, device=data.device)
    if n:
        _unpack_kernel[(triton.cdiv(data.numel(), BLOCK),)](data, out, n, BLOCK=BLOCK)
    return out
