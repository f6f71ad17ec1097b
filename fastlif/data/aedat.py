"""Decoders for the AEDAT files the event datasets are distributed in (no third-party reader needed).

Both decoders return an ``Events`` record of four equally long numpy arrays: ``t`` (µs, int64), ``x`` and ``y``
(pixel column and row, int16) and ``p`` (polarity, int8: 1 = ON/brighter, 0 = OFF/darker), in file order.

* AEDAT 2.0 (jAER; CIFAR10-DVS, recorded with a DVS128): ASCII header lines that start with ``#`` (the first is
  ``#!AER-DAT2.0``), then 8-byte records of big-endian uint32 ``address`` and uint32 ``timestamp``.
* AEDAT 3.1 (cAER/libcaer; DVS128 Gesture): ASCII header ending with ``#!END-HEADER``, then event packets, each a
  28-byte little-endian header ``(int16 eventType, int16 eventSource, int32 eventSize, int32 eventTSOffset,
  int32 eventTSOverflow, int32 eventCapacity, int32 eventNumber, int32 eventValid)`` followed by
  ``eventCapacity * eventSize`` bytes of events (libcaer ``events/common.h``).

A file that is truncated or otherwise malformed raises ``ValueError`` naming the file, so a half-downloaded
sample is never decoded (or cached) silently.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np

__all__ = ["Events", "read_aedat2", "read_aedat31", "read_header", "AEDAT31_POLARITY_EVENT"]

# libcaer event type ids; only polarity (DVS) events carry pixels, the rest (special, IMU, frames) are skipped.
AEDAT31_POLARITY_EVENT = 1
_PACKET_HEADER = np.dtype([("type", "<i2"), ("source", "<i2"), ("size", "<i4"), ("ts_offset", "<i4"),
                           ("ts_overflow", "<i4"), ("capacity", "<i4"), ("number", "<i4"), ("valid", "<i4")])
_POLARITY_EVENT_SIZE = 8  # uint32 data + int32 timestamp


@dataclass
class Events:
    """An event stream as four parallel arrays (``t`` in µs)."""

    t: np.ndarray
    x: np.ndarray
    y: np.ndarray
    p: np.ndarray

    def __post_init__(self):
        n = len(self.t)
        if not (len(self.x) == len(self.y) == len(self.p) == n):
            raise ValueError(f"events: t, x, y, p must have equal lengths, got "
                             f"{len(self.t)}, {len(self.x)}, {len(self.y)}, {len(self.p)}")

    def __len__(self) -> int:
        return len(self.t)

    def select(self, mask_or_index) -> "Events":
        return Events(self.t[mask_or_index], self.x[mask_or_index], self.y[mask_or_index], self.p[mask_or_index])


def read_header(path) -> tuple[list[str], int]:
    """The ASCII header lines of an AEDAT file (without line ends) and the byte offset where binary data starts.

    Header lines start with ``#``; AEDAT 3.1 closes them with ``#!END-HEADER``. Binary data never starts with
    ``#`` here: its first byte is the high byte of a DVS128 address (AEDAT 2.0) or of a packet's event type.
    """
    lines, offset = [], 0
    with open(path, "rb") as f:
        while True:
            line = f.readline()
            if not line.startswith(b"#"):
                break
            offset += len(line)
            text = line.rstrip(b"\r\n").decode("latin-1")
            lines.append(text)
            if text == "#!END-HEADER":
                break
    return lines, offset


def _version(lines: list[str]) -> str | None:
    for line in lines:
        if line.startswith("#!AER-DAT"):
            return line[len("#!AER-DAT"):].strip()
    return None


def read_aedat2(path) -> Events:
    """Decode a DVS128 recording in AEDAT 2.0 (one CIFAR10-DVS sample).

    Address bits as in SpikingJelly's CIFAR10-DVS loader (``cifar10_dvs._load_origin_data``): polarity bit
    ``addr & 0x1``, raw x ``(addr & 0xFE) >> 1``, raw y ``(addr & 0x7F00) >> 8`` — the same fields tonic's
    ``read_dvs_128`` reads. SpikingJelly then maps the raw sensor address to image coordinates as
    ``x = 127 - raw_y``, ``y = 127 - raw_x`` and ``p = 1 - bit`` (the DVS128 writes OFF as 1, as jAER's
    ``DVS128`` extractor reads it); we do the same so frames match the ones TET/SLT trained on. (jAER itself shows
    ``x = 127 - raw_x``, ``y = raw_y``: SpikingJelly's image is that one rotated by 90° (x' = 127 − y, y' = x),
    which a network trained from scratch does not care about, but frames from other tools may differ by it.)
    """
    path = os.fspath(path)
    lines, offset = read_header(path)
    version = _version(lines)
    if version is None:  # an empty file, or bytes that are not a jAER recording
        raise ValueError(f"{path}: empty file (0 bytes), not an AEDAT 2.0 recording" if os.path.getsize(path) == 0
                         else f"{path}: not an AEDAT 2.0 file (no #!AER-DAT2.0 header line)")
    if not version.startswith("2"):
        raise ValueError(f"{path}: expected an AEDAT 2.0 file, the header says AER-DAT{version}")
    with open(path, "rb") as f:
        f.seek(offset)
        raw = f.read()
    if not raw:
        raise ValueError(f"{path}: an AEDAT 2.0 header without events (truncated recording?)")
    if len(raw) % 8:
        raise ValueError(f"{path}: truncated AEDAT 2.0 data ({len(raw)} bytes after the header is not a "
                         f"whole number of 8-byte events)")
    rec = np.frombuffer(raw, dtype=np.dtype([("addr", ">u4"), ("t", ">u4")]))
    addr = rec["addr"]
    raw_x = (addr & 0xFE) >> 1
    raw_y = (addr & 0x7F00) >> 8
    bit = addr & 0x1
    return Events(t=rec["t"].astype(np.int64), x=(127 - raw_y).astype(np.int16),
                  y=(127 - raw_x).astype(np.int16), p=(1 - bit).astype(np.int8))


def read_aedat31(path) -> Events:
    """Decode the polarity events of an AEDAT 3.1 file (one DVS128 Gesture recording).

    Polarity event ``data`` bits as libcaer ``events/polarity.h`` defines them and SpikingJelly's
    ``load_aedat_v3`` / tonic's ``read_dvs_ibm`` read them: bit 0 valid mark, bit 1 polarity (1 = ON),
    y = ``(data >> 2) & 0x7FFF``, x = ``(data >> 17) & 0x7FFF``. The full timestamp is
    ``eventTSOverflow << 31 | timestamp``. Events whose valid mark is 0 are dropped, as libcaer's iterators do
    (SpikingJelly keeps them; the Gesture files have none).
    """
    path = os.fspath(path)
    lines, offset = read_header(path)
    version = _version(lines)
    if version is None or not version.startswith("3"):
        raise ValueError(f"{path}: expected an AEDAT 3.x header (#!AER-DAT3.1), got "
                         f"{'no version line' if version is None else 'AER-DAT' + version}")
    with open(path, "rb") as f:
        f.seek(offset)
        buf = f.read()
    chunks, pos = [], 0
    while pos < len(buf):
        if pos + _PACKET_HEADER.itemsize > len(buf):
            raise ValueError(f"{path}: truncated AEDAT 3.1 packet header at byte {offset + pos}")
        head = np.frombuffer(buf, dtype=_PACKET_HEADER, count=1, offset=pos)[0]
        size, capacity = int(head["size"]), int(head["capacity"])
        if size <= 0 or capacity < 0:
            raise ValueError(f"{path}: malformed AEDAT 3.1 packet header at byte {offset + pos} "
                             f"(eventSize={size}, eventCapacity={capacity})")
        start = pos + _PACKET_HEADER.itemsize
        end = start + size * capacity
        if end > len(buf):
            raise ValueError(f"{path}: truncated AEDAT 3.1 packet at byte {offset + pos} "
                             f"(needs {size * capacity} bytes of events, {len(buf) - start} left)")
        if int(head["type"]) == AEDAT31_POLARITY_EVENT:
            if size != _POLARITY_EVENT_SIZE:
                raise ValueError(f"{path}: polarity packet at byte {offset + pos} has eventSize={size}, "
                                 f"expected {_POLARITY_EVENT_SIZE}")
            ev = np.frombuffer(buf, dtype=np.dtype([("data", "<u4"), ("t", "<i4")]), count=capacity, offset=start)
            ev = ev[(ev["data"] & 0x1) == 1]
            t = ev["t"].astype(np.int64) | (np.int64(head["ts_overflow"]) << 31)
            chunks.append((t, ev["data"]))
        pos = end
    if chunks:
        t = np.concatenate([c[0] for c in chunks])
        data = np.concatenate([c[1] for c in chunks])
    else:
        t, data = np.zeros(0, np.int64), np.zeros(0, np.uint32)
    return Events(t=t, x=((data >> 17) & 0x7FFF).astype(np.int16), y=((data >> 2) & 0x7FFF).astype(np.int16),
                  p=((data >> 1) & 0x1).astype(np.int8))
