"""DVS128 Gesture (Amir et al. 2017) from the ``DvsGesture`` folder IBM distributes: per recording an AEDAT 3.1
file ``userNN_<lighting>.aedat`` and ``userNN_<lighting>_labels.csv`` (``class,startTime_usec,endTime_usec``,
classes 1–11), plus the official trial lists ``trials_to_train.txt`` / ``trials_to_test.txt``.

Each labelled row is one sample: the events with ``start ≤ t < end``, label ``class − 1`` — as SpikingJelly
slices them (1176 training and 288 test samples). Nothing is downloaded.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Optional

import numpy as np
import torch
from torch.utils.data import Dataset

from .aedat import Events, read_aedat31
from .bundle import DataBundle
from .event_augment import event_prepare
from .frames import FrameCache, check_frame_options, events_to_frames, normalize_frames, resize_frames

__all__ = ["NUM_CLASSES", "SENSOR_SIZE", "DVSGesture", "read_labels", "find_folder", "list_samples", "dvs128_gesture"]

NUM_CLASSES = 11
SENSOR_SIZE = 128


def find_folder(root) -> Path:
    """``root`` itself or its ``DvsGesture`` sub-folder, whichever holds the trial lists."""
    root = Path(root)
    for cand in (root, root / "DvsGesture"):
        if (cand / "trials_to_train.txt").is_file() and (cand / "trials_to_test.txt").is_file():
            return cand
    raise ValueError(f"root: neither {root} nor {root / 'DvsGesture'} holds trials_to_train.txt and "
                     f"trials_to_test.txt (expected the extracted DvsGesture.tar.gz)")


def read_labels(path) -> np.ndarray:
    """The ``[n, 3]`` int64 rows ``(label 0..10, start_us, end_us)`` of a ``*_labels.csv`` file."""
    rows = []
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            line = line.strip()
            if not line or lineno == 1 and not line[0].isdigit():
                continue  # blank lines and the "class,startTime_usec,endTime_usec" header
            parts = line.split(",")
            try:
                cls, start, end = (int(v) for v in parts)
            except ValueError:
                raise ValueError(f"{path}:{lineno}: expected 'class,start_us,end_us', got {line!r}") from None
            if not 1 <= cls <= NUM_CLASSES or end < start:
                raise ValueError(f"{path}:{lineno}: class must be 1..{NUM_CLASSES} and end >= start, got {line!r}")
            rows.append((cls - 1, start, end))
    return np.asarray(rows, dtype=np.int64).reshape(-1, 3)


def list_samples(folder: Path, train: bool) -> list[tuple[Path, int, int, int, int]]:
    """``(aedat file, row index, label, start_us, end_us)`` for every labelled gesture of one split."""
    trials = folder / ("trials_to_train.txt" if train else "trials_to_test.txt")
    samples = []
    for name in trials.read_text().split():
        aedat = folder / name
        if not aedat.is_file():
            raise ValueError(f"{trials}: lists {name}, which is not in {folder}")
        labels = read_labels(folder / f"{aedat.stem}_labels.csv")
        samples += [(aedat, i, int(lab), int(s), int(e)) for i, (lab, s, e) in enumerate(labels)]
    return samples


@functools.lru_cache(maxsize=1)
def _read_recording(path: Path) -> Events:
    # Consecutive samples come from the same recording: decode it once, not once per gesture.
    return read_aedat31(path)


class DVSGesture(Dataset):
    """Frames ``[T, 2, size, size]`` (float32 event counts, OFF then ON) of one gesture and its class 0..10.

    Cached like :class:`fastlif.data.cifar10_dvs.CIFAR10DVS` (one ``.npy`` per gesture under ``cache_dir``,
    default ``<folder>/.fastlif_frames``).
    """

    num_classes = NUM_CLASSES

    def __init__(self, root, train: bool = True, T: int = 10, split_by: str = "number", size: int = 48,
                 normalize: Optional[str] = None, cache_dir=None):
        check_frame_options(T, split_by, size, normalize)
        self.folder = find_folder(root)
        self.samples = list_samples(self.folder, train)
        self.T, self.split_by, self.size, self.normalize = T, split_by, size, normalize
        base = Path(cache_dir) if cache_dir is not None else self.folder / ".fastlif_frames"
        self.cache = FrameCache(base / f"dvsgesture_T{T}_{split_by}_{size}")

    def __len__(self) -> int:
        return len(self.samples)

    def _decode(self, path: Path, start: int, end: int):
        ev = _read_recording(path)
        ev = ev.select((ev.t >= start) & (ev.t < end))
        try:
            frames = events_to_frames(ev, self.T, SENSOR_SIZE, SENSOR_SIZE, self.split_by)
        except ValueError as err:
            raise ValueError(f"{path}: {err}") from err
        return resize_frames(torch.from_numpy(frames), self.size).numpy()

    def __getitem__(self, i: int):
        path, row, label, start, end = self.samples[i]
        frames = self.cache.get(f"{path.stem}_{row}", lambda: self._decode(path, start, end), source=path)
        return normalize_frames(torch.from_numpy(frames), self.normalize), label


def dvs128_gesture(root=None, T: int = 10, split_by: str = "number", size: int = 48, normalize: Optional[str] = None,
                   cache_dir=None, max_shift: int = 5, flip_p: float = 0.0, augment: str = "flip-roll",
                   crop_padding: int = 4) -> DataBundle:
    """The ``dvs128-gesture`` registry entry: the CIFAR10-DVS recipe (SLT: "a pre-processing step similar to
    DVS-CIFAR-10"), except that frames are not mirrored by default — a mirrored right-hand wave is the
    left-hand-wave class. ``augment="crop-flip"`` gives TEBN's crop (which the ``slt-dvs128-gesture`` preset
    uses, still without the flip)."""
    if root is None:
        raise ValueError("root: DVS128 Gesture is read from a local folder (the extracted DvsGesture); "
                         "give --data-root")
    kw = dict(T=T, split_by=split_by, size=size, normalize=normalize, cache_dir=cache_dir)
    return DataBundle(name="dvs128-gesture", train=DVSGesture(root, True, **kw), test=DVSGesture(root, False, **kw),
                      num_classes=NUM_CLASSES, in_channels=2, input_size=size, event=True,
                      prepare=event_prepare(max_shift=max_shift, flip_p=flip_p, augment=augment,
                                             crop_padding=crop_padding))
