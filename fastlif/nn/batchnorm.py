"""Batch norms for spike sequences `[T, B, C, H, W]` (SPEC §7).

- ``TdBatchNorm2d`` — tdBN (Zheng et al. 2021): statistics per channel over batch·time·H·W, weight initialised to
  α·V_th. With α = V_th = 1 it is the plain batch·time BN that the TET/SLT code calls "tdBN".
- ``TEBatchNorm2d`` — TEBN (Duan et al. 2022): the same shared statistics and affine, then a learnable scale p[t]
  per time step.
- ``BNTT2d`` — BNTT (Kim & Panda 2021): one independent BN (statistics and scale) per time step; no shift and
  eps 1e-4, as the BNTT code.

TEBN and BNTT own per-step parameters for ``steps`` steps. Run at more steps than that they raise ValueError:
there is no principled value for an unseen step, and a silent guess would make results depend on it. Build them
with ``steps`` = the largest T the model will see (SLT draws t ≤ T; TIT needs the final T). Fewer steps than
``steps`` are fine and use the first ones, which keeps the layers causal.
"""
from __future__ import annotations

import math

import torch
from torch import nn

from ..checks import check_int, check_positive
from ..memory.compact import recomputable

NORMS = ("bn", "tdbn", "tebn", "bntt")
RESIDUAL_ALPHA = 1 / math.sqrt(2)  # tdBN's α for the two BNs whose outputs are summed at a residual add


def _check_sequence(x, num_features: int, steps: int | None = None) -> None:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"x must be a torch.Tensor, got {type(x).__name__}")
    if x.dim() != 5:
        raise ValueError(f"x must be a sequence [T, B, C, H, W], got shape {tuple(x.shape)}")
    if x.shape[2] != num_features:
        raise ValueError(f"x must have {num_features} channels (dim 2), got shape {tuple(x.shape)}")
    if steps is not None and x.shape[0] > steps:
        raise ValueError(f"x has T = {x.shape[0]} steps but this layer was built for steps = {steps}; "
                         "build it with steps >= the largest T it will see")


class TdBatchNorm2d(nn.BatchNorm2d):
    """tdBN on `[T, B, C, H, W]`: one BN over the T·B folded samples; weight initialised to ``alpha * threshold``.

    α = 1/√2 for the two BNs whose outputs meet at a residual add (so the sum keeps the pre-activation scale),
    α = 1 elsewhere. Because it *is* a BatchNorm2d underneath, it folds into the preceding conv (``fuse_bn``).
    """

    def __init__(self, num_features: int, alpha: float = 1.0, threshold: float = 1.0, eps: float = 1e-5,
                 momentum: float = 0.1):
        check_positive("alpha", alpha)
        check_positive("threshold", threshold)
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.alpha = float(alpha)
        self.threshold = float(threshold)
        nn.init.constant_(self.weight, self.alpha * self.threshold)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.num_features)
        return super().forward(x.flatten(0, 1)).unflatten(0, x.shape[:2])

    def extra_repr(self) -> str:
        return f"{super().extra_repr()}, alpha={self.alpha:.4g}, threshold={self.threshold:g}"


class TEBatchNorm2d(TdBatchNorm2d):
    """TEBN: batch·time statistics and affine shared by all steps, then y[t] *= p[t] (p initialised to 1)."""

    def __init__(self, num_features: int, steps: int, eps: float = 1e-5, momentum: float = 0.1):
        super().__init__(num_features, eps=eps, momentum=momentum)
        self.steps = check_int("steps", steps)
        self.step_scale = nn.Parameter(torch.ones(self.steps))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.num_features, self.steps)
        # the scale multiply saves y: under fastlif.memory's compaction it is recomputed, not kept
        y = recomputable(self, x, super().forward(x), super().forward)
        return y * self.step_scale[: x.shape[0]].view(-1, 1, 1, 1, 1).to(y.dtype)

    def extra_repr(self) -> str:
        return f"{nn.BatchNorm2d.extra_repr(self)}, steps={self.steps}"


class BNTT2d(nn.Module):
    """BNTT: step t is normalised by its own BatchNorm2d ``self.bns[t]`` (statistics over the batch only).

    As the BNTT code (Kim & Panda, ``BatchNorm2d(eps=1e-4)`` then ``bias = None``): a learnable scale per step and
    channel but no shift, eps 1e-4. ``bias=True`` keeps torch's shift too."""

    def __init__(self, num_features: int, steps: int, eps: float = 1e-4, momentum: float = 0.1, bias: bool = False):
        super().__init__()
        self.num_features = num_features
        self.steps = check_int("steps", steps)
        self.bns = nn.ModuleList(nn.BatchNorm2d(num_features, eps=eps, momentum=momentum) for _ in range(steps))
        if not bias:
            for bn in self.bns:
                bn.register_parameter("bias", None)     # F.batch_norm takes a None shift

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        _check_sequence(x, self.num_features, self.steps)
        return torch.stack([bn(x_t) for bn, x_t in zip(self.bns, x)])

    def extra_repr(self) -> str:
        return f"{self.num_features}, steps={self.steps}"


def make_norm(kind: str, num_features: int, *, alpha: float = 1.0, threshold: float = 1.0,
              steps: int | None = None) -> nn.Module:
    """The sequence BN named ``kind``: "bn" (plain batch·time BN, the TET/SLT code), "tdbn" (weight α·V_th),
    "tebn" or "bntt" (both need ``steps``). ``alpha`` and ``threshold`` only affect "tdbn"."""
    if kind == "bn":
        return TdBatchNorm2d(num_features)
    if kind == "tdbn":
        return TdBatchNorm2d(num_features, alpha=alpha, threshold=threshold)
    if kind in ("tebn", "bntt"):
        if steps is None:
            raise ValueError(f"norm={kind!r} needs steps (the largest T the model will run at)")
        return TEBatchNorm2d(num_features, steps) if kind == "tebn" else BNTT2d(num_features, steps)
    raise ValueError(f"norm must be one of {list(NORMS)}, got {kind!r}")

