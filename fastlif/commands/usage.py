"""What the subcommands share: the usage error they all report the same way, ``KEY=VALUE`` options and the
``--threads`` flag."""
from __future__ import annotations

import torch

from ..checks import check_int


class UsageError(Exception):
    """Bad options or inputs found before any work starts: reported in one line, exit status 2 (as argparse)."""


def parse_key_values(items):
    """``["backend=cpu", "norm=tdbn", "cutout=0"]`` → {"backend": "cpu", "norm": "tdbn", "cutout": 0}."""
    out = {}
    for item in items or []:
        if "=" not in item:
            raise UsageError(f"expected KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        for cast in (int, float):
            try:
                value = cast(value)
                break
            except ValueError:
                continue
        out[key] = {"true": True, "false": False, "none": None}.get(str(value).lower(), value)
    return out


def require_positive(value, flag: str) -> None:
    """A count flag (``--threads``, ``--batch-size``, ...) must be at least 1 when given."""
    try:
        check_int(flag, value, optional=True)
    except ValueError as e:
        raise UsageError(str(e)) from e


def set_threads(threads) -> None:
    """``--threads N``: torch's CPU thread count (left alone when not given)."""
    require_positive(threads, "--threads")
    if threads is not None:
        torch.set_num_threads(threads)
