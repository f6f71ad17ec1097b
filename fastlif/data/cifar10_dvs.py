"""CIFAR10-DVS (Li et al. 2017) from the folder its authors distribute: one AEDAT 2.0 file per sample, one folder
per class (``airplane/cifar10_airplane_0.aedat`` … ``truck/cifar10_truck_999.aedat``). Nothing is downloaded.

The 9k/1k split is the deterministic per-class split of TEBN (Duan et al. 2022) that SLT follows (SpikingJelly's
``CIFAR10DVSTEBNSplit``): within each class, in sample-number order, the first tenth (samples 0–99) is the test
set and the rest (100–999) the training set.
"""
from __future__ import annotations

import re
from pathlib import Path
from typing import Optional

import torch
from torch.utils.data import Dataset

from .aedat import read_aedat2
from .bundle import DataBundle
from .event_augment import event_prepare
from .frames import FrameCache, check_frame_options, events_to_frames, normalize_frames, resize_frames

__all__ = ["CLASSES", "SENSOR_SIZE", "CIFAR10DVS", "list_samples", "cifar10_dvs"]

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
SENSOR_SIZE = 128
TEST_FRACTION = 0.1


def _natural_key(path: Path):
    """Sort ``cifar10_cat_10`` after ``cifar10_cat_9`` (numbers compared as numbers)."""
    return [int(tok) if tok.isdigit() else tok for tok in re.split(r"(\d+)", path.name)]


def list_samples(root, train: bool) -> list[tuple[Path, int]]:
    """``(file, label)`` of one split, in class then sample-number order."""
    root = Path(root)
    if not root.is_dir():
        raise ValueError(f"root: {root} is not a folder (expected the extracted CIFAR10-DVS with one folder per class)")
    missing = [c for c in CLASSES if not (root / c).is_dir()]
    if missing:
        raise ValueError(f"root: {root} lacks the class folder(s) {', '.join(missing)}")
    samples = []
    for label, name in enumerate(CLASSES):
        files = sorted((root / name).glob("*.aedat"), key=_natural_key)
        if not files:
            raise ValueError(f"root: no .aedat files in {root / name}")
        n_test = max(1, round(TEST_FRACTION * len(files)))
        chosen = files[n_test:] if train else files[:n_test]
        samples += [(f, label) for f in chosen]
    return samples


class CIFAR10DVS(Dataset):
    """Frames ``[T, 2, size, size]`` (float32 event counts, OFF then ON channel) and the class index.

    The AEDAT files are decoded once: the 128×128 counts area-resized to ``size`` are cached as ``.npy`` under
    ``cache_dir`` (default ``<root>/.fastlif_frames``; any folder, e.g. outside a read-only dataset), keyed by T,
    split, size and the recording's size and modification time; ``normalize`` is applied on
    loading, so it does not multiply the cache.
    """

    num_classes = len(CLASSES)

    def __init__(self, root, train: bool = True, T: int = 10, split_by: str = "number", size: int = 48,
                 normalize: Optional[str] = None, cache_dir=None):
        check_frame_options(T, split_by, size, normalize)
        self.root = Path(root)
        self.samples = list_samples(self.root, train)
        self.T, self.split_by, self.size, self.normalize = T, split_by, size, normalize
        base = Path(cache_dir) if cache_dir is not None else self.root / ".fastlif_frames"
        self.cache = FrameCache(base / f"cifar10dvs_T{T}_{split_by}_{size}")

    def __len__(self) -> int:
        return len(self.samples)

    def _decode(self, path: Path):
        frames = events_to_frames(read_aedat2(path), self.T, SENSOR_SIZE, SENSOR_SIZE, self.split_by)
        return resize_frames(torch.from_numpy(frames), self.size).numpy()

    def __getitem__(self, i: int):
        path, label = self.samples[i]
        key = f"{path.parent.name}/{path.stem}"
        frames = torch.from_numpy(self.cache.get(key, lambda: self._decode(path), source=path))
        return normalize_frames(frames, self.normalize), label


def cifar10_dvs(root=None, T: int = 10, split_by: str = "number", size: int = 48, normalize: Optional[str] = None,
                cache_dir=None, max_shift: int = 5, flip_p: float = 0.5, augment: str = "flip-roll",
                crop_padding: int = 4) -> DataBundle:
    """The ``cifar10-dvs`` registry entry. Defaults: T = 10 slices by event count, 48×48, raw event counts, TET's
    augmentation (random flip and roll by up to 5 pixels). The papers differ — the presets pick per paper:
    TET max-normalises each frame (``normalize="max"``); TEBN and SLT keep raw counts and crop with padding 4
    then flip (``augment="crop-flip"``)."""
    if root is None:
        raise ValueError("root: CIFAR10-DVS is read from a local folder (one sub-folder per class); give --data-root")
    kw = dict(T=T, split_by=split_by, size=size, normalize=normalize, cache_dir=cache_dir)
    return DataBundle(name="cifar10-dvs", train=CIFAR10DVS(root, True, **kw), test=CIFAR10DVS(root, False, **kw),
                      num_classes=len(CLASSES), in_channels=2, input_size=size, event=True,
                      prepare=event_prepare(max_shift=max_shift, flip_p=flip_p, augment=augment,
                                             crop_padding=crop_padding))
