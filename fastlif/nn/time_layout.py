"""The time layout a layer is called with, declared by the code that calls it.

A stateless layer of a spiking network sees the T steps of a pass in one of four layouts:

* ``"folded"``   — `[T·B, ...]`, time folded into the batch, time-major (``x.flatten(0, 1)``; ``TimeFolded``);
* ``"sequence"`` — `[T, B, ...]`, the layer applied to every step at once (``Readout``'s Linear);
* ``"shared"``   — `[B, ...]`, computed once and used by every step: a shortcut of the implementation (the first
  conv of a direct-encoded, time-constant input), so every step still counts it;
* ``"once"``     — `[B, ...]`, in a network whose whole pass is one step evaluated once for all T outputs (the
  window SNN on a static input without random draws): its cost is that of one step, whatever the latency.

The wrappers that run layers (``seq_apply``, ``Readout``, the window SNN's ``forward_sequence``) enter
``time_layout(...)`` around the inner call; per-step tools (``fastlif.energy.SOPCounter``) read
``current_time_layout()`` from their hooks instead of guessing the layout from shapes (which cannot tell
`[T, B, ...]` from `[B, ...]` when T = B). The innermost declaration holds; declarations are per thread. A model of
your own declares the same way::

    with fastlif.nn.time_layout("sequence"):
        y = self.fc(x)            # x [T, B, features]

Under ``torch.compile`` tracing the declaration is a no-op (hooks do not run in a compiled graph).
"""
from __future__ import annotations

import threading
from typing import Optional

import torch

FOLDED, SEQUENCE, SHARED, ONCE = "folded", "sequence", "shared", "once"
TIME_LAYOUTS = (FOLDED, SEQUENCE, SHARED, ONCE)

_local = threading.local()  # .stack: the declared layouts of this thread, innermost last


def _stack() -> list:
    stack = getattr(_local, "stack", None)
    if stack is None:
        stack = _local.stack = []
    return stack


class time_layout:
    """Context manager declaring the layout of the layer inputs inside it: one of ``TIME_LAYOUTS``."""

    __slots__ = ("layout",)

    def __init__(self, layout: str):
        if layout not in TIME_LAYOUTS:
            raise ValueError(f"layout: expected one of {TIME_LAYOUTS}, got {layout!r}")
        self.layout = layout

    def __enter__(self) -> "time_layout":
        if not torch.compiler.is_compiling():
            _stack().append(self.layout)
        return self

    def __exit__(self, *exc) -> None:
        if not torch.compiler.is_compiling():
            _stack().pop()


def current_time_layout() -> Optional[str]:
    """The innermost declared layout of this thread, None where nothing is declared."""
    stack = getattr(_local, "stack", None)
    return stack[-1] if stack else None
