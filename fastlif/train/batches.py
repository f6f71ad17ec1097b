"""Mini-batches from a ``DataBundle`` split, sharded over DDP ranks, and the model call at a given latency."""
from __future__ import annotations

from typing import Iterator, List, Tuple

import torch
from torch.utils.data import DataLoader, Dataset, DistributedSampler, TensorDataset

from .distributed import DistContext


def to_device(ds: Dataset, device: torch.device) -> Dataset:
    """In-memory tensor datasets go to the device once, so batches are gathered there with no host copy."""
    if isinstance(ds, TensorDataset) and device.type != "cpu":
        return TensorDataset(*(t.to(device) for t in ds.tensors))
    return ds


def train_order(ds: Dataset, ctx: DistContext, seed: int, epoch: int) -> List[int]:
    """This rank's sample indices for ``epoch``: ``DistributedSampler``'s seeded shuffle (padded so every rank gets
    the same count, hence the same number of mini-batches and the same SLT draws)."""
    sampler = DistributedSampler(ds, num_replicas=ctx.world_size, rank=ctx.rank, shuffle=True, seed=seed)
    sampler.set_epoch(epoch)
    return list(sampler)


def eval_order(ds: Dataset, ctx: DistContext) -> List[int]:
    """Every test sample exactly once over all ranks (strided shards, no padding, so sums are exact)."""
    return list(range(ctx.rank, len(ds), ctx.world_size))


def iterate(ds: Dataset, indices: List[int], batch_size: int, device: torch.device, workers: int = 0,
            drop_last: bool = False) -> Iterator[Tuple[torch.Tensor, torch.Tensor]]:
    """Yield ``(x, y)`` batches on ``device`` in the order of ``indices``. ``drop_last`` drops a short final batch
    (unless it is the only one), so every training step has the same size and BN never sees a lone sample."""
    chunks = [indices[i:i + batch_size] for i in range(0, len(indices), batch_size)]
    if drop_last and len(chunks) > 1 and len(chunks[-1]) < batch_size:
        chunks.pop()
    if isinstance(ds, TensorDataset):
        x_all, y_all = ds.tensors
        for chunk in chunks:
            idx = torch.as_tensor(chunk, device=x_all.device)
            yield x_all[idx].to(device, non_blocking=True), y_all[idx].to(device, non_blocking=True)
        return
    loader = DataLoader(ds, batch_sampler=chunks, num_workers=workers, pin_memory=device.type == "cuda")
    for x, y in loader:
        yield x.to(device, non_blocking=True), y.to(device, non_blocking=True)


def forward_at(model, x: torch.Tensor, t: int, event: bool) -> torch.Tensor:
    """Run ``model`` for ``t`` steps: a static batch ``[B, C, H, W]`` is direct-encoded t times by the model; an
    event batch ``[B, T0, C, H, W]`` is put time first and cut to its first t frames. Returns O ``[t, B, classes]``."""
    if event:
        if x.shape[1] < t:
            raise ValueError(f"T: the event data have {x.shape[1]} frames per sample, cannot run {t} steps")
        return model(x.transpose(0, 1)[:t], T=t)
    return model(x, T=t)
