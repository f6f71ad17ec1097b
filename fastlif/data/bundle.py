"""``DataBundle``: what the trainer needs to know about a dataset, whatever produced it."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional

import torch
from torch.utils.data import Dataset

# prepare(x, train, generator) -> float input for the model, run on the training device, batch-wise.
Prepare = Callable[[torch.Tensor, bool, Optional[torch.Generator]], torch.Tensor]


def _as_float(x: torch.Tensor, train: bool, generator: Optional[torch.Generator]) -> torch.Tensor:
    return x.float()


@dataclass
class DataBundle:
    """Train and test splits plus their shape facts.

    ``train``/``test`` are map-style datasets yielding ``(x, label)``. A ``torch.utils.data.TensorDataset`` is
    batched by direct indexing (and moved to the device once), anything else through a ``DataLoader``.
    Static samples are ``[C, H, W]``; event samples (``event=True``) are ``[T, C, H, W]`` and the trainer moves
    time first, giving the models ``[T, B, C, H, W]``. ``prepare`` turns a raw batch (e.g. uint8) into the model's
    float input on the device, with the training augmentation when ``train`` is true — batch-wise, never per image.
    """

    name: str
    train: Dataset
    test: Dataset
    num_classes: int
    in_channels: int
    input_size: int
    event: bool = False
    prepare: Prepare = _as_float
