"""Data-parallel plumbing: the process group from torchrun's environment, sums across ranks, rank-0-only output.

``torchrun --nproc_per_node=N -m fastlif train ...`` sets RANK/WORLD_SIZE/LOCAL_RANK/MASTER_ADDR/MASTER_PORT; we join
with gloo on CPU and nccl on CUDA. A caller that already initialised ``torch.distributed`` (tests spawning
processes themselves) is respected as is. Without either, everything here is a no-op for a single process.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist


@dataclass
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    owns_group: bool = False  # we created the process group, so we tear it down

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def all_reduce_sum(self, t: torch.Tensor) -> torch.Tensor:
        """Sum ``t`` over ranks in place (float64 on the wire so counts stay exact) and return it."""
        if self.enabled:
            buf = t.to(torch.float64)
            if dist.get_backend() == "nccl":  # nccl reduces CUDA tensors only
                buf = buf.to(torch.device("cuda", torch.cuda.current_device()))
            dist.all_reduce(buf, op=dist.ReduceOp.SUM)
            t.copy_(buf)
        return t

    def barrier(self) -> None:
        if self.enabled:
            dist.barrier()

    def shutdown(self) -> None:
        if self.owns_group and dist.is_initialized():
            dist.destroy_process_group()
            self.owns_group = False


def init_distributed(use_cuda: bool) -> DistContext:
    """Join (or reuse) the process group; returns a single-process context when not launched distributed."""
    if dist.is_available() and dist.is_initialized():
        local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
        return DistContext(dist.get_rank(), dist.get_world_size(), local, owns_group=False)
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistContext()
    if not dist.is_available():
        raise RuntimeError("WORLD_SIZE > 1 but this torch build has no torch.distributed")
    local = int(os.environ.get("LOCAL_RANK", "0"))
    if use_cuda:
        torch.cuda.set_device(local)
    dist.init_process_group(backend="nccl" if use_cuda else "gloo")
    return DistContext(dist.get_rank(), dist.get_world_size(), local, owns_group=True)
