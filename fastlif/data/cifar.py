"""CIFAR-10/100 from the standard python-pickle batches (``cifar-10-batches-py``, ``cifar-100-python``).

No torchvision and no download: the user points ``root`` at a folder holding either the extracted folder or its
files. Images stay uint8 in memory (150 MB for CIFAR-10 train) and are converted and augmented batch-wise on the
training device (``augment.image_prepare``), with the TET/SLT recipe: crop with 4-pixel padding, horizontal flip,
cutout 16 px (CIFAR-10) / 8 px (CIFAR-100) on [0, 1] pixels, then per-channel normalisation.
"""
from __future__ import annotations

import os
import pickle

import numpy as np
import torch
from torch.utils.data import TensorDataset

from .augment import image_prepare
from .bundle import DataBundle

CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2023, 0.1994, 0.2010)
CIFAR100_MEAN, CIFAR100_STD = (0.5071, 0.4867, 0.4408), (0.2675, 0.2565, 0.2761)

# name -> (extracted folder, train files, test files, label key, classes, mean, std, cutout)
_LAYOUT = {
    "cifar10": ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], b"labels", 10,
                CIFAR10_MEAN, CIFAR10_STD, 16),
    "cifar100": ("cifar-100-python", ["train"], ["test"], b"fine_labels", 100, CIFAR100_MEAN, CIFAR100_STD, 8),
}


def _folder(name: str, root) -> str:
    if root is None:
        raise ValueError(f"root: {name} needs the folder holding its python-pickle batches (e.g. --data-root "
                         f"~/data, containing {_LAYOUT[name][0]}/)")
    root = os.path.expanduser(os.fspath(root))
    if not os.path.isdir(root):
        raise FileNotFoundError(f"root: data folder {root!r} does not exist")
    inner = os.path.join(root, _LAYOUT[name][0])
    return inner if os.path.isdir(inner) else root


def _read_batch(path: str, label_key: bytes):
    if not os.path.isfile(path):
        raise FileNotFoundError(f"missing CIFAR batch file {path!r}")
    with open(path, "rb") as f:
        try:
            d = pickle.load(f, encoding="bytes")
        except Exception as e:  # truncated or foreign file: say which one
            raise ValueError(f"{path!r} is not a readable CIFAR python-pickle batch: {e}") from e
    if b"data" not in d or label_key not in d:
        raise ValueError(f"{path!r} lacks the {b'data'!r} / {label_key!r} entries of a CIFAR batch")
    data = np.asarray(d[b"data"], dtype=np.uint8)
    if data.ndim != 2 or data.shape[1] != 3 * 32 * 32:
        raise ValueError(f"{path!r}: expected data of shape [N, 3072], got {data.shape}")
    labels = np.asarray(d[label_key], dtype=np.int64)
    return data.reshape(-1, 3, 32, 32), labels


def load_cifar_tensors(name: str, root):
    """``(x_train uint8 [N,3,32,32], y_train int64, x_test, y_test)`` read from the pickle batches."""
    if name not in _LAYOUT:
        raise ValueError(f"name: expected one of {', '.join(_LAYOUT)}, got {name!r}")
    folder = _folder(name, root)
    _, train_files, test_files, key = _LAYOUT[name][:4]
    out = []
    for files in (train_files, test_files):
        parts = [_read_batch(os.path.join(folder, f), key) for f in files]
        out.append(torch.from_numpy(np.concatenate([p[0] for p in parts])))
        out.append(torch.from_numpy(np.concatenate([p[1] for p in parts])))
    return tuple(out)


def _bundle(name: str, root, cutout) -> DataBundle:
    x_tr, y_tr, x_te, y_te = load_cifar_tensors(name, root)
    _, _, _, _, classes, mean, std, default_cutout = _LAYOUT[name]
    cut = default_cutout if cutout is None else int(cutout)
    return DataBundle(name=name, train=TensorDataset(x_tr, y_tr), test=TensorDataset(x_te, y_te),
                      num_classes=classes, in_channels=3, input_size=32,
                      prepare=image_prepare(mean, std, crop_padding=4, flip=True, cutout_size=cut))


def cifar10(root=None, cutout=None) -> DataBundle:
    """CIFAR-10; ``cutout`` overrides the 16-pixel hole (0 turns it off)."""
    return _bundle("cifar10", root, cutout)


def cifar100(root=None, cutout=None) -> DataBundle:
    """CIFAR-100; ``cutout`` overrides the 8-pixel hole (0 turns it off)."""
    return _bundle("cifar100", root, cutout)
