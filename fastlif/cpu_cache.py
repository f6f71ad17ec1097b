"""The CPU output cache: memory of the compiled op's large CPU outputs, kept when the tensors die and handed to the
next output of the same size.

Why: glibc gives every allocation of a megabyte or more a fresh mapping and returns it on free, so each `[T, ...]`
output of each call faults in all of its pages anew; on the machines measured (bench/results/) that took longer
than the kernel that writes the output. Training allocates the same shapes every step, so the cache serves it with
memory that is already mapped. Like PyTorch's CUDA caching allocator, it keeps memory the program no longer uses:
at most ``limit_bytes`` of idle blocks (the oldest are released past it), set by the environment variable
FASTLIF_CPU_CACHE_MIB (default: 2 GiB or an eighth of the RAM, whichever is less; 0 turns the cache off) or by
:func:`set_limit`. Outputs under 1 MiB, and every output on other devices, come from torch's allocator.
"""
from __future__ import annotations

import torch

from .ops import LOAD_ERROR


def _ops():
    if LOAD_ERROR:
        raise RuntimeError(LOAD_ERROR)
    return torch.ops.fastlif


def info() -> dict:
    """idle_bytes (memory held for reuse now), limit_bytes, hits and misses (allocations served from the cache or
    newly mapped, since the process started)."""
    idle, limit, hits, misses = _ops().cpu_cache_stats()
    return {"idle_bytes": idle, "limit_bytes": limit, "hits": hits, "misses": misses}


def set_limit(mib: int) -> None:
    """Hold at most ``mib`` MiB of idle blocks from now on (0: no caching), releasing the oldest beyond it."""
    if isinstance(mib, bool) or not isinstance(mib, int) or mib < 0:
        raise ValueError(f"fastlif.cpu_cache.set_limit: mib must be an int >= 0, got {mib!r}")
    _ops().set_cpu_cache_limit(mib << 20)


def empty() -> None:
    """Release every idle block to the system (outputs still alive keep theirs)."""
    _ops().empty_cpu_cache()
