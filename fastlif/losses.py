"""Losses on per-step outputs ``O`` of shape ``[T, B, classes]`` (SPEC §4).

The output layer of an SNN does not spike: ``O[t]`` is the pre-synaptic input of the last layer at step t.
SDT applies cross-entropy once, to the time-averaged output; TET (Deng et al., ICLR 2022) applies it at every
step and averages, plus an optional MSE term that pulls every ``O[t]`` towards ``phi`` (= V_th).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

from .checks import check_int

__all__ = ["sdt_loss", "tet_loss", "mse_regularizer", "slt_tet_weights", "LOSSES", "make_loss"]


def _check(O: torch.Tensor, y: torch.Tensor) -> None:
    if not isinstance(O, torch.Tensor) or O.dim() != 3:
        raise ValueError(f"O: expected a tensor of shape [T, B, classes], got "
                         f"{tuple(O.shape) if isinstance(O, torch.Tensor) else type(O).__name__}")
    if O.shape[0] < 1:
        raise ValueError("O: needs at least one time step (T >= 1)")
    if not isinstance(y, torch.Tensor) or y.dim() != 1 or y.shape[0] != O.shape[1]:
        raise ValueError(f"y: expected class indices of shape [B] = [{O.shape[1]}], got "
                         f"{tuple(y.shape) if isinstance(y, torch.Tensor) else type(y).__name__}")
    if y.dtype not in (torch.int64, torch.int32, torch.uint8, torch.int16, torch.int8):
        raise TypeError(f"y: expected integer class indices, got dtype {y.dtype}")


def sdt_loss(O: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """L_SDT = CE((1/T) Σ_t O[t], y): cross-entropy of the time-averaged output."""
    _check(O, y)
    return F.cross_entropy(O.float().mean(0), y.long())


def mse_regularizer(O: torch.Tensor, phi: float = 1.0) -> torch.Tensor:
    """L_MSE = (1/T) Σ_t MSE(O[t], phi), the mean over every element of O."""
    return (O.float() - phi).pow(2).mean()


def tet_loss(O: torch.Tensor, y: torch.Tensor, lam: float = 0.05, phi: float = 1.0) -> torch.Tensor:
    """L_TOTAL = (1 - lam) · (1/T) Σ_t CE(O[t], y) + lam · L_MSE(O, phi); ``lam=0`` gives the plain L_TET."""
    _check(O, y)
    if not 0.0 <= lam <= 1.0:
        raise ValueError(f"lam: expected a weight in [0, 1], got {lam}")
    T, B, C = O.shape
    # One CE over the flattened [T*B] rows with mean reduction is exactly the mean over t of per-step means.
    ce = F.cross_entropy(O.float().reshape(T * B, C), y.long().repeat(T))
    if lam == 0.0:
        return ce
    return (1.0 - lam) * ce + lam * mse_regularizer(O, phi)


def slt_tet_weights(T: int) -> torch.Tensor:
    """c(t) = (1/T) Σ_{i=t..T} 1/i for t = 1..T: the weight SLT-TET puts on CE(O[t]) in expectation (SPEC §5).

    Useful to see (and test) that stochastic latency weighs the early steps more than TET's uniform 1/T.
    """
    check_int("T", T)
    inv = 1.0 / torch.arange(1, T + 1, dtype=torch.float64)
    return inv.flip(0).cumsum(0).flip(0) / T


LOSSES = ("tet", "sdt")


def make_loss(name: str, lam: float = 0.05, phi: float = 1.0):
    """The training loss ``fn(O, y)`` by name; ``lam`` (the MSE weight) applies to TET only, as in the papers."""
    if name == "tet":
        if not 0.0 <= lam <= 1.0:
            raise ValueError(f"lam: expected a weight in [0, 1], got {lam}")
        return lambda O, y: tet_loss(O, y, lam=lam, phi=phi)
    if name == "sdt":
        return sdt_loss
    raise ValueError(f"loss: expected one of {', '.join(LOSSES)}, got {name!r}")
