"""One atomic-write helper for checkpoints and the frame cache: all or nothing, no temporary file left."""
import os

import pytest

from fastlif.atomic import write_atomic


def test_write_atomic_replaces_whole_or_not_at_all(tmp_path):
    path = tmp_path / "sub" / "file.bin"
    assert write_atomic(path, lambda f: f.write(b"first")) == str(path)

    def torn(f):
        f.write(b"half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError, match="disk full"):
        write_atomic(path, torn, fsync=True)
    assert path.read_bytes() == b"first" and os.listdir(path.parent) == ["file.bin"]
    write_atomic(path, lambda f: f.write(b"second"), fsync=True)
    assert path.read_bytes() == b"second"
