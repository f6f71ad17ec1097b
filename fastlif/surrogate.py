"""Surrogate derivatives of the Heaviside step (SPEC §3).

Each surrogate is a small value object: a name, one shape parameter, and ``__call__(z)`` giving sg(z) with
z = h - threshold. The kernels receive ``(kind_id, param)``; the ids (``SURROGATE_IDS``) are the ones in
csrc/lif_math.h and the Triton kernel, checked by a test.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Surrogate:
    name = ""
    kind_id = -1

    @property
    def param(self) -> float:
        raise AssertionError("subclasses define param")

    def __call__(self, z: torch.Tensor) -> torch.Tensor:
        raise AssertionError("subclasses define __call__")


@dataclass(frozen=True)
class Triangle(Surrogate):
    """(1/γ²)·max(0, γ − |z|) — TET eq. 5, the SLT code."""
    gamma: float = 1.0
    name = "triangle"
    kind_id = 0

    @property
    def param(self) -> float:
        return self.gamma

    def __call__(self, z):
        return (self.gamma - z.abs()).clamp_min(0) / (self.gamma * self.gamma)


@dataclass(frozen=True)
class Rectangle(Surrogate):
    """(1/a)·1[|z| < a/2] — STBP."""
    width: float = 1.0
    name = "rectangle"
    kind_id = 1

    @property
    def param(self) -> float:
        return self.width

    def __call__(self, z):
        return (z.abs() < self.width / 2).to(z.dtype) / self.width


@dataclass(frozen=True)
class Sigmoid(Surrogate):
    """α·σ(αz)·(1 − σ(αz)) — SpikingJelly ``Sigmoid``."""
    alpha: float = 4.0
    name = "sigmoid"
    kind_id = 2

    @property
    def param(self) -> float:
        return self.alpha

    def __call__(self, z):
        sig = torch.sigmoid(self.alpha * z)
        return self.alpha * sig * (1 - sig)


@dataclass(frozen=True)
class ATan(Surrogate):
    """α / (2·(1 + (π/2·α·z)²)) — SpikingJelly ``ATan``."""
    alpha: float = 2.0
    name = "atan"
    kind_id = 3

    @property
    def param(self) -> float:
        return self.alpha

    def __call__(self, z):
        w = (math.pi / 2 * self.alpha) * z
        return self.alpha / (2 * (1 + w * w))


@dataclass(frozen=True)
class SuperSpike(Surrogate):
    """(β/2) / (1 + β·|z|)² — Zenke & Ganguli 2018, normalised to integrate to 1."""
    beta: float = 10.0
    name = "superspike"
    kind_id = 4

    @property
    def param(self) -> float:
        return self.beta

    def __call__(self, z):
        d = 1 + self.beta * z.abs()
        return (self.beta / 2) / (d * d)


_BY_NAME = {cls.name: cls for cls in (Triangle, Rectangle, Sigmoid, ATan, SuperSpike)}
# name -> the id the kernels switch on (csrc/lif_math.h ``enum class Surrogate``, the Triton ``_surrogate``);
# python_tests/test_kernel_ids.py reads both and fails on any disagreement.
SURROGATE_IDS = {name: cls.kind_id for name, cls in _BY_NAME.items()}


def get(surrogate) -> Surrogate:
    """A Surrogate from an instance or a (case-insensitive) name; ValueError/TypeError otherwise."""
    if isinstance(surrogate, Surrogate):
        if not math.isfinite(surrogate.param) or surrogate.param <= 0:
            raise ValueError(f"surrogate {surrogate.name!r} parameter must be a finite number > 0, got {surrogate.param}")
        return surrogate
    if isinstance(surrogate, str):
        cls = _BY_NAME.get(surrogate.lower())
        if cls is None:
            raise ValueError(f"unknown surrogate {surrogate!r}; expected one of {sorted(_BY_NAME)} or a fastlif.surrogate object")
        return cls()
    raise TypeError(f"surrogate must be a name or a fastlif.surrogate object, got {type(surrogate).__name__}")


__all__ = ["Surrogate", "Triangle", "Rectangle", "Sigmoid", "ATan", "SuperSpike", "get", "SURROGATE_IDS"]
