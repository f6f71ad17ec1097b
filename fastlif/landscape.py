"""Loss landscapes around a trained SNN along filter-normalised random directions (Li et al., NeurIPS 2018).

A direction ``d`` has one Gaussian tensor per parameter; each filter of it — the slice of one output channel of a
convolution, one row (output neuron) of a linear layer — is rescaled to the norm of the same filter of the
weights, ``d_i ← d_i · ‖θ_i‖ / ‖d_i‖``, so the plot's scale means the same in every layer whatever its weight
scale (BN makes networks invariant to it). Biases and other 1-D parameters (BN affine) get a zero direction by
default, as in Li et al.'s ``--xignore biasbn``. The surface is then ``L(θ + α·d₁)`` (1-D) or
``L(θ + α·d₁ + β·d₂)`` (2-D) for a chosen loss (SDT or TET) evaluated at latency t on fixed batches, with the
model in eval mode (BN running statistics, so the loss is a deterministic function of the weights).
"""
from __future__ import annotations

from typing import Callable, Optional, Sequence

import torch
from torch import nn

from .checks import check_int

__all__ = ["random_direction", "evaluate", "surface_1d", "surface_2d"]


def random_direction(model: nn.Module, generator: Optional[torch.Generator] = None,
                     ignore_1d: bool = True) -> list:
    """A filter-normalised Gaussian direction: one tensor per parameter of ``model`` (in ``parameters()`` order)."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
    direction = []
    for p in model.parameters():
        if p.dim() <= 1:
            if ignore_1d:
                direction.append(torch.zeros_like(p, memory_format=torch.contiguous_format))
                continue
            d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
            d = d * (p.detach().double().cpu().norm() / d.norm().clamp_min(1e-30))
        else:
            d = torch.randn(p.shape, generator=generator, dtype=torch.float64)
            w = p.detach().double().cpu()
            # One filter per output channel/neuron (dim 0); its norm is taken over all remaining dims.
            d_norm = d.flatten(1).norm(dim=1).clamp_min(1e-30)
            w_norm = w.flatten(1).norm(dim=1)
            d = d * (w_norm / d_norm).view(-1, *([1] * (p.dim() - 1)))
        direction.append(d.to(device=p.device, dtype=p.dtype))
    return direction


@torch.no_grad()
def evaluate(model: nn.Module, batches: Sequence, loss_fn: Callable, t: int,
             forward: Optional[Callable] = None) -> tuple[float, float]:
    """``(mean loss, accuracy)`` of ``model`` at latency ``t`` over ``batches`` of ``(x, y)``.

    ``forward(model, x, t)`` runs the model for t steps (default ``model(x, T=t)``); the loss is
    ``loss_fn(O, y)`` on its ``[t, B, classes]`` output, the accuracy that of the time-averaged output.
    """
    forward = forward or (lambda m, x, steps: m(x, T=steps))
    loss_sum, correct, n = 0.0, 0, 0
    for x, y in batches:
        O = forward(model, x, t)
        loss_sum += float(loss_fn(O, y)) * len(y)
        correct += int((O.float().mean(0).argmax(-1) == y).sum())
        n += len(y)
    if n == 0:
        raise ValueError("batches: no samples to evaluate the loss on")
    return loss_sum / n, correct / n



@torch.no_grad()
def _surface(model, batches, loss_fn, t, directions, grid, forward):
    params = list(model.parameters())
    for d in directions:
        if len(d) != len(params) or any(a.shape != b.shape for a, b in zip(d, params)):
            raise ValueError("directions: expected one tensor per model parameter with the same shapes "
                             "(as random_direction(model) makes)")
    origin = [p.detach().clone() for p in params]
    was_training = model.training
    model.eval()
    out = []
    try:
        for coords in grid:
            for p, p0, *ds in zip(params, origin, *directions):
                p.copy_(p0)
                for c, d in zip(coords, ds):
                    p.add_(d, alpha=c)
            out.append(evaluate(model, batches, loss_fn, t, forward))
    finally:
        for p, p0 in zip(params, origin):
            p.copy_(p0)
        model.train(was_training)
    return out


def surface_1d(model: nn.Module, batches: Sequence, loss_fn: Callable, t: int, alphas: Sequence[float],
               direction: Optional[list] = None, seed: int = 0, forward: Optional[Callable] = None):
    """``(losses [n], accuracies [n])`` at ``θ + α·d`` for each α (``d`` drawn from ``seed`` when not given).

    The model's weights are restored afterwards, also when evaluating fails."""
    check_int("t", t)
    if direction is None:
        direction = random_direction(model, torch.Generator().manual_seed(seed))
    res = _surface(model, batches, loss_fn, t, [direction], [(float(a),) for a in alphas], forward)
    return (torch.tensor([r[0] for r in res], dtype=torch.float64),
            torch.tensor([r[1] for r in res], dtype=torch.float64))


def surface_2d(model: nn.Module, batches: Sequence, loss_fn: Callable, t: int, alphas: Sequence[float],
               betas: Sequence[float], directions: Optional[tuple] = None, seed: int = 0,
               forward: Optional[Callable] = None):
    """``(losses [len(alphas), len(betas)], accuracies [...])`` at ``θ + α·d₁ + β·d₂``."""
    check_int("t", t)
    if directions is None:
        g = torch.Generator().manual_seed(seed)
        directions = (random_direction(model, g), random_direction(model, g))
    if len(directions) != 2:
        raise ValueError(f"directions: expected two directions for a 2-D surface, got {len(directions)}")
    grid = [(float(a), float(b)) for a in alphas for b in betas]
    res = _surface(model, batches, loss_fn, t, list(directions), grid, forward)
    shape = (len(alphas), len(betas))
    return (torch.tensor([r[0] for r in res], dtype=torch.float64).view(shape),
            torch.tensor([r[1] for r in res], dtype=torch.float64).view(shape))
