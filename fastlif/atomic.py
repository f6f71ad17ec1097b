"""Atomic file writes: write a temporary file beside the target, then rename it over the target.

``os.replace`` is atomic on POSIX and Windows, so a crash at any moment leaves either the previous file or the new
one — never a torn file — and a reader never sees half a file. When writing fails nothing is left behind. The file
gets the mode ``open()`` would give it (0666 less the umask, 0644 usually), not ``mkstemp``'s private 0600.
"""
from __future__ import annotations

import os
import tempfile
from typing import BinaryIO, Callable


def write_atomic(path, write: Callable[[BinaryIO], None], *, fsync: bool = False) -> str:
    """Call ``write(f)`` on a binary file that becomes ``path`` only once complete; returns the path.

    ``fsync=True`` flushes the data to disk before the rename, so the new file also survives a power cut (what a
    checkpoint needs; a rebuildable cache does not)."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{os.path.basename(path)}.", suffix=".tmp", dir=folder)
    try:
        os.chmod(tmp, 0o666 & ~_umask())
        with os.fdopen(fd, "wb") as f:
            write(f)
            if fsync:
                f.flush()
                os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return path


def _umask() -> int:
    """The process umask (reading it means setting it; set straight back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask
