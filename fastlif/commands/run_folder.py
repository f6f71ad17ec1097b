"""Open a trained run for the commands that read one back (``energy``, ``landscape``): its checkpoint, config,
data and model, on the device asked for."""
from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Optional

import torch
from torch import nn

from ..train.checkpoint import checkpoint_path, load_checkpoint
from ..train.config import TrainConfig
from .usage import UsageError


@dataclass
class Run:
    path: str             # the checkpoint file
    config: TrainConfig   # the options the run was trained with
    bundle: object        # the data set (``fastlif.data.DataBundle``)
    model: nn.Module      # the trained weights, on ``device``
    device: torch.device

    @property
    def folder(self) -> str:
        return os.path.dirname(os.path.abspath(self.path))


def open_run(checkpoint, device: str = "auto", data: Optional[str] = None, data_root: Optional[str] = None,
             data_kwargs: Optional[dict] = None) -> Run:
    """The run saved at ``checkpoint`` (a checkpoint file or its run folder). ``data``/``data_root`` default to the
    run's; ``data_kwargs`` are added to the run's own options when the data set is the run's, else used alone."""
    from ..data import get_dataset
    from ..train.trainer import build_model, load_data, pick_device

    path = checkpoint_path(checkpoint)
    try:
        ck = load_checkpoint(path)
    except (FileNotFoundError, ValueError) as e:
        raise UsageError(f"--checkpoint: {e}") from e
    cfg = TrainConfig.from_dict(ck["config"])
    data = data or cfg.data
    kwargs = {**(cfg.data_kwargs if data == cfg.data else {}), **(data_kwargs or {})}
    if data == cfg.data:  # as the run built it (re-binned events included)
        bundle = load_data(cfg.replace(data_root=data_root or cfg.data_root, data_kwargs=kwargs))
    else:
        bundle = get_dataset(data, data_root or cfg.data_root, **kwargs)
    dev = pick_device(device, 0)
    model = build_model(cfg, bundle)
    model.load_state_dict(ck["model"])
    return Run(path, cfg, bundle, model.to(dev), dev)
