"""The embedded default data: scikit-learn's 8×8 handwritten digits (1797 images, shipped with sklearn, no download).

A fixed stratified split (25 % test, ``random_state=0``) makes every run see the same 1347/450 images. Pixels
(0..16) are scaled to [0, 1]; ``size`` other than 8 resizes bilinearly for models that want larger input.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch.utils.data import TensorDataset

from ..checks import check_int
from .bundle import DataBundle

TEST_FRACTION = 0.25
SPLIT_SEED = 0


def load_digits_tensors(size: int = 8):
    """``(x_train, y_train, x_test, y_test)``; images ``[N, 1, size, size]`` float32 in [0, 1], labels int64."""
    check_int("size", size)
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    raw = load_digits()
    x = torch.from_numpy(raw.images).float().div_(16.0).unsqueeze(1)
    y = torch.from_numpy(raw.target).long()
    idx_train, idx_test = train_test_split(torch.arange(len(y)).numpy(), test_size=TEST_FRACTION,
                                           random_state=SPLIT_SEED, stratify=raw.target)
    if size != 8:
        x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0.0, 1.0)
    idx_train, idx_test = torch.from_numpy(idx_train), torch.from_numpy(idx_test)
    return x[idx_train], y[idx_train], x[idx_test], y[idx_test]


def digits(root=None, size: int = 8, train_limit=None, test_limit=None) -> DataBundle:
    """The ``digits`` entry of the data registry (``root`` is accepted and ignored: the data ship with sklearn).

    ``train_limit``/``test_limit`` keep only the first N images of a split (the split is already shuffled), for
    smoke runs that must take seconds."""
    x_tr, y_tr, x_te, y_te = load_digits_tensors(size)
    check_int("train_limit", train_limit, optional=True)
    check_int("test_limit", test_limit, optional=True)
    x_tr, y_tr = x_tr[:train_limit], y_tr[:train_limit]
    x_te, y_te = x_te[:test_limit], y_te[:test_limit]
    return DataBundle(name="digits", train=TensorDataset(x_tr, y_tr), test=TensorDataset(x_te, y_te),
                      num_classes=10, in_channels=1, input_size=size)
