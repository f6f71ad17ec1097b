"""Argument checks shared by the Python side, with one policy: a wrong type raises TypeError, a wrong value
ValueError, and the message starts with the argument's name (``T: expected an integer >= 1, got 0``)."""
from __future__ import annotations

import math
import numbers


def check_int(name: str, value, low: int = 1, *, optional: bool = False):
    """``value`` as an int ``>= low`` (``None`` passes when ``optional``); bools are not counts."""
    if value is None and optional:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name}: expected an integer >= {low}{' or None' if optional else ''}, "
                        f"got {type(value).__name__}")
    if value < low:
        raise ValueError(f"{name}: expected an integer >= {low}, got {value!r}")
    return int(value)


def check_positive(name: str, value) -> float:
    """``value`` as a finite float ``> 0``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{name}: expected a positive number, got {type(value).__name__}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(f"{name}: expected a finite number > 0, got {value!r}")
    return float(value)
