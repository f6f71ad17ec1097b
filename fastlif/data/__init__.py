"""Datasets for training, by name. ``DATASETS`` is a plain dict: a new dataset is one entry
``DATASETS["name"] = builder`` where ``builder(root=None, **kw) -> DataBundle``."""
from __future__ import annotations

from .bundle import DataBundle
from .cifar import cifar10, cifar100
from .cifar10_dvs import cifar10_dvs
from .digits import digits
from .dvs_gesture import dvs128_gesture
from .event_digits import event_digits

DATASETS = {
    "digits": digits,
    "cifar10": cifar10,
    "cifar100": cifar100,
    "event-digits": event_digits,
    "cifar10-dvs": cifar10_dvs,
    "dvs128-gesture": dvs128_gesture,
}


def names() -> list:
    """Registered dataset names, sorted."""
    return sorted(DATASETS)


def get_dataset(name: str, root=None, **kw) -> DataBundle:
    """Build the dataset ``name`` reading files under ``root`` (ignored by embedded sets)."""
    if name not in DATASETS:
        raise ValueError(f"data: unknown dataset {name!r}; expected one of {', '.join(names())}")
    return DATASETS[name](root=root, **kw)


__all__ = ["DataBundle", "DATASETS", "names", "get_dataset"]
