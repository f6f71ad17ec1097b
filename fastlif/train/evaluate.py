"""Accuracy at every latency t = 1..T from ONE forward pass per batch (SPEC §4).

The prediction at latency t is ``argmax (1/t) Σ_{s≤t} O[s]``. Because the models are causal (O[t] depends on inputs
up to t only, BN in eval mode), the first t steps of a T-step run are exactly a t-step run, so a cumulative mean over
one pass gives the whole latency table for the price of the longest latency.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, List, Optional

import torch

from ..checks import check_int
from .batches import eval_order, forward_at, iterate
from .distributed import DistContext


@dataclass
class LatencyResult:
    accuracy: List[float]  # accuracy[t-1] = accuracy at latency t
    loss: float            # the training loss on O[:loss_T], averaged over samples
    samples: int

    def at(self, t: int) -> float:
        return self.accuracy[t - 1]


def correct_per_latency(O: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """Number of correct predictions at each latency t = 1..T for one batch: a ``[T]`` int64 tensor."""
    steps = torch.arange(1, O.shape[0] + 1, device=O.device, dtype=torch.float32)
    running_mean = O.float().cumsum(0) / steps[:, None, None]
    return (running_mean.argmax(-1) == y[None, :]).sum(1)


@torch.no_grad()
def latency_accuracy(model, bundle, T_eval: int, device: torch.device, *, batch_size: int = 256,
                     loss_fn: Optional[Callable] = None, loss_T: Optional[int] = None,
                     ctx: Optional[DistContext] = None, workers: int = 0, autocast=None) -> LatencyResult:
    """Evaluate ``model`` on ``bundle.test`` at latencies 1..``T_eval`` (sums all-reduced over DDP ranks).

    ``loss_fn(O, y)`` (if given) is evaluated on the first ``loss_T`` steps (default ``T_eval``)."""
    check_int("T_eval", T_eval)
    ctx = ctx or DistContext()
    loss_T = T_eval if loss_T is None else min(loss_T, T_eval)
    was_training = model.training
    model.eval()
    correct = torch.zeros(T_eval, dtype=torch.float64, device=device)
    totals = torch.zeros(2, dtype=torch.float64, device=device)  # [loss sum, samples]
    try:
        for x, y in iterate(bundle.test, eval_order(bundle.test, ctx), batch_size, device, workers):
            x = bundle.prepare(x, False, None)
            if autocast is not None:
                with autocast():
                    O = forward_at(model, x, T_eval, bundle.event)
            else:
                O = forward_at(model, x, T_eval, bundle.event)
            correct += correct_per_latency(O, y).to(torch.float64)
            if loss_fn is not None:
                totals[0] += float(loss_fn(O[:loss_T].float(), y)) * len(y)
            totals[1] += len(y)
    finally:
        model.train(was_training)
    ctx.all_reduce_sum(correct)
    ctx.all_reduce_sum(totals)
    n = int(totals[1].item())
    if n == 0:
        raise ValueError("test set: no samples to evaluate")
    acc = (correct / n).tolist()
    return LatencyResult(accuracy=acc, loss=float(totals[0] / n) if loss_fn is not None else float("nan"),
                         samples=n)
