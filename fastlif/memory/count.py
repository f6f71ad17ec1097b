"""``saved_bytes``: how many bytes autograd keeps for backward during a call — the memory that grows with T × batch.

Counted as distinct storages (a tensor saved by two layers, or two views of one tensor, count once). Inside
``fastlif.memory.compact_activations`` the tensors saved are replaced by bits or by a recipe before autograd keeps
them, so the compaction reports what it actually keeps here instead (``report``).
"""
from __future__ import annotations

import threading
from typing import Callable, Iterable

import torch

_local = threading.local()


class _Counter:
    def __init__(self, exclude: Iterable[torch.Tensor]):
        self.kept: dict[int, torch.Tensor] = {}  # storage address → a tensor holding it (so it cannot be reused)
        self.excluded = {t.untyped_storage().data_ptr() for t in exclude}

    def add(self, t: torch.Tensor) -> None:
        ptr = t.untyped_storage().data_ptr()
        if ptr not in self.excluded:
            self.kept.setdefault(ptr, t)

    @property
    def total(self) -> int:
        return sum(t.untyped_storage().nbytes() for t in self.kept.values())


def report(tensors: Iterable[torch.Tensor]) -> None:
    """Count ``tensors`` as kept for backward by the innermost running ``saved_bytes`` (no-op outside one)."""
    counter = getattr(_local, "counter", None)
    if counter is not None:
        for t in tensors:
            counter.add(t)


def saved_bytes(call: Callable[[], object], exclude: Iterable[torch.Tensor] = ()) -> int:
    """Bytes of the distinct storages autograd keeps for backward while ``call()`` runs, leaving out those of
    ``exclude`` (say, the input and the parameters: memory held anyway)."""
    from .compact import active_hooks  # compact reports through this module: imported here, not at the top

    outer = getattr(_local, "counter", None)
    counter = _local.counter = _Counter(exclude)

    def pack(t):
        counter.add(t)
        return t

    # Inside compact_activations() these hooks would replace its own: keep its (they report what they keep).
    hooks = active_hooks() or (pack, lambda t: t)
    try:
        with torch.autograd.graph.saved_tensors_hooks(*hooks):
            call()
    finally:
        _local.counter = outer
    return counter.total
