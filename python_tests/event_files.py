"""Writers of small AEDAT 2.0 / 3.1 files for the event-data tests (the byte layouts of fastlif.data.aedat)."""
from __future__ import annotations

import struct

import numpy as np

AEDAT2_HEADER = (b"#!AER-DAT2.0\r\n# This is a raw AE data file - do not edit\r\n"
                 b"# Data format is int32 address, int32 timestamp (8 bytes total)\r\n")
AEDAT31_HEADER = b"#!AER-DAT3.1\r\n#Format: RAW\r\n#Source 1: DVS128\r\n#!END-HEADER\r\n"


def dvs128_address(x, y, p):
    """The raw DVS128 address of image pixel (x, y) and polarity p (1 = ON) under SpikingJelly's mapping
    x = 127 - raw_y, y = 127 - raw_x, p = 1 - bit."""
    raw_x, raw_y, bit = 127 - np.asarray(y), 127 - np.asarray(x), 1 - np.asarray(p)
    return (raw_y.astype(np.uint32) << 8) | (raw_x.astype(np.uint32) << 1) | bit.astype(np.uint32)


def write_aedat2(path, addresses, timestamps, header: bytes = AEDAT2_HEADER) -> None:
    rec = np.empty(len(addresses), dtype=[("a", ">u4"), ("t", ">u4")])
    rec["a"], rec["t"] = addresses, timestamps
    with open(path, "wb") as f:
        f.write(header + rec.tobytes())


def polarity_word(x, y, p, valid=1):
    return (np.asarray(x, np.uint32) << 17) | (np.asarray(y, np.uint32) << 2) | (np.asarray(p, np.uint32) << 1) \
        | np.asarray(valid, np.uint32)


def aedat31_packet(event_type: int, words, timestamps, ts_overflow: int = 0, event_size: int = 8) -> bytes:
    n = len(words)
    head = struct.pack("<hhiiiiii", event_type, 1, event_size, 4, ts_overflow, n, n, n)
    if event_size != 8:  # a non-polarity packet: its payload is never decoded, only skipped
        return head + bytes(n * event_size)
    ev = np.empty(n, dtype=[("d", "<u4"), ("t", "<i4")])
    ev["d"], ev["t"] = words, timestamps
    return head + ev.tobytes()


def write_aedat31(path, packets, header: bytes = AEDAT31_HEADER) -> None:
    with open(path, "wb") as f:
        f.write(header + b"".join(packets))
