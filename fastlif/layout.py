"""Memory layouts, read from sizes and strides (no torch import: also called on symbolic sizes under tracing)."""
from __future__ import annotations

from typing import Optional


def dense_extent(sizes, strides) -> Optional[int]:
    """N if the dims (sizes, strides) fill exactly N consecutive elements in some order (no gaps, no overlap), else
    None. Written as a search for the next stride rather than a sort, which torch.compile cannot trace on symbolic
    strides."""
    remaining = [(size, stride) for size, stride in zip(sizes, strides) if size != 1]
    expected = 1
    while remaining:
        nxt = next((i for i, (_, stride) in enumerate(remaining) if stride == expected), None)
        if nxt is None:
            return None
        expected *= remaining.pop(nxt)[0]
    return expected
