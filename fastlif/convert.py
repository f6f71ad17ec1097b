"""``fastlif.convert(model)``: swap the spiking neurons of a SpikingJelly or snnTorch model for ``LIFSequence``
modules of the same equation, in place, moving learned parameters (the same ``nn.Parameter`` objects, so an
optimizer built afterwards trains them), and say which neurons were left as they were and why.

Neither library is imported here: a module is recognised by its class's module path and name, so converting a model
costs nothing when they are not installed (and their own imports stay theirs).

What is converted (docs/equations.md has the equations):

- SpikingJelly 2.0 ``LIFNode``, ``ParametricLIFNode``, ``IFNode`` with ``step_mode='m'``: decay_input=True →
  ``decay_input=True``; fire at ``>=``; ``v_reset=None`` → soft reset; Sigmoid / ATan surrogates. The membrane is
  carried across calls until ``reset_net`` (``stateful=True``), as SpikingJelly's memory modules do.
- snnTorch ``Leaky`` built with ``init_hidden=True`` (the module returns spikes only), inside a model that is fed
  the whole `[T, ...]` sequence at once: subtract reset → ``reset="subtract_next"``, zero reset → hard reset to 0
  with the reset detached; beta clamped to [0, 1] as snnTorch does; learnable beta / threshold moved over.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import torch
from torch import nn

from . import dispatch
from . import surrogate as _sg
from .neuron import LIFSequence


@dataclass
class ConversionReport:
    """``converted``: (qualified name, original class) of each neuron replaced; ``left``: (name, class, why)."""
    converted: list = field(default_factory=list)
    left: list = field(default_factory=list)

    def __str__(self) -> str:
        lines = [f"converted {len(self.converted)} neuron(s)"]
        lines += [f"  left {name} ({cls}): {why}" for name, cls, why in self.left]
        return "\n".join(lines)


class NotConvertible(Exception):
    """Why one neuron cannot become a LIFSequence (the report's reason)."""


def _kind(module: nn.Module) -> str | None:
    mod, name = type(module).__module__, type(module).__name__
    if mod.startswith("spikingjelly.") and name in ("LIFNode", "ParametricLIFNode", "IFNode"):
        return "spikingjelly"
    if mod.startswith("snntorch.") and name == "Leaky":
        return "snntorch"
    return None


def _sj_surrogate(fn) -> dict:
    name = type(fn).__name__
    if not getattr(fn, "spiking", True):
        raise NotConvertible("its surrogate runs in non-spiking (primitive) mode")
    if name == "Sigmoid":
        return {"surrogate": _sg.Sigmoid(float(fn.alpha))}
    if name == "ATan":
        return {"surrogate": _sg.ATan(float(fn.alpha))}
    raise NotConvertible(f"surrogate {name} has no fastlif twin (Sigmoid and ATan do)")


def _from_spikingjelly(m: nn.Module, backend: str) -> LIFSequence:
    name = type(m).__name__
    if getattr(m, "step_mode", "s") != "m":
        raise NotConvertible("step_mode='s' runs one step per call; fastlif runs the whole sequence (use 'm')")
    if getattr(m, "store_v_seq", False):
        raise NotConvertible("store_v_seq=True (fastlif returns the membrane through return_state instead)")
    v_reset = m.v_reset
    if v_reset not in (None, 0.0):
        raise NotConvertible(f"v_reset={v_reset}: SpikingJelly starts the membrane at v_reset, fastlif at 0")
    common = dict(threshold=float(m.v_threshold), v_reset=0.0, reset="soft" if v_reset is None else "hard",
                  detach_reset=bool(m.detach_reset), fire_ge=True, stateful=True, backend=backend,
                  **_sj_surrogate(m.surrogate_function))
    if name == "IFNode":
        return LIFSequence(decay=1.0, **common)
    if name == "LIFNode":
        # decay_input=False with v_reset 0: h = u − u/τ + x, fastlif's (1 − 1/τ)·u + x (the same up to rounding).
        return LIFSequence(tau=float(m.tau), decay_input=bool(m.decay_input), **common)
    # ParametricLIFNode: 1/τ = sigmoid(w); the very Parameter is handed over.
    new = LIFSequence(tau=2.0, learn_decay=True, decay_input=bool(m.decay_input), **common)
    new.w = m.w
    return new


def _snntorch_surrogate(fn) -> dict:
    qual = getattr(fn, "__qualname__", "")
    if qual == "atan.<locals>.inner" and fn.__closure__:
        return {"surrogate": _sg.ATan(float(fn.__closure__[0].cell_contents))}
    raise NotConvertible(f"spike_grad {qual or fn!r} has no fastlif twin (snntorch.surrogate.atan does)")


def _as_option(t):
    """snnTorch keeps beta/threshold as tensors: a learnable one is handed over, a fixed one-element one becomes a
    number (the scalar kernels), a fixed per-neuron one stays a tensor."""
    if isinstance(t, nn.Parameter):
        return t
    if not isinstance(t, torch.Tensor):
        return float(t)
    return float(t) if t.numel() == 1 else t.detach().clone()


def _from_snntorch(m: nn.Module, backend: str) -> LIFSequence:
    if not getattr(m, "init_hidden", False) or getattr(m, "output", False):
        raise NotConvertible("only init_hidden=True (and output=False) Leaky returns spikes alone as a layer does")
    if not getattr(m, "reset_delay", True):
        raise NotConvertible("reset_delay=False (the reset applied in the same step) has no fastlif equation")
    if getattr(m, "inhibition", False) or getattr(m, "state_quant", False):
        raise NotConvertible("inhibition / state_quant")
    if float(m.graded_spikes_factor) != 1.0 or isinstance(m.graded_spikes_factor, nn.Parameter):
        raise NotConvertible("graded spikes (graded_spikes_factor != 1)")
    mechanism = m.reset_mechanism
    if mechanism not in ("subtract", "zero"):
        raise NotConvertible(f"reset_mechanism={mechanism!r}")
    beta = m.beta
    decay = _as_option(beta)
    if isinstance(decay, float):
        decay = min(max(decay, 0.0), 1.0)  # snnTorch clamps beta to [0, 1] at every step
    elif not isinstance(decay, nn.Parameter):
        decay = decay.clamp(0.0, 1.0)
    reset = {"subtract": dict(reset="subtract_next"), "zero": dict(reset="hard", v_reset=0.0, detach_reset=True)}
    return LIFSequence(decay=decay, threshold=_as_option(m.threshold), stateful=True, backend=backend,
                       **reset[mechanism], **_snntorch_surrogate(m.spike_grad))


def _replace(root: nn.Module, qualified: str, new: nn.Module) -> None:
    parent_name, _, child = qualified.rpartition(".")
    parent = root.get_submodule(parent_name) if parent_name else root
    setattr(parent, child, new)


def convert(model: nn.Module, *, backend: str = "auto", strict: bool = False, report: bool = False):
    """Replace, in place, every SpikingJelly ``LIFNode`` / ``ParametricLIFNode`` / ``IFNode`` (step_mode='m') and
    snnTorch ``Leaky`` (init_hidden=True) in ``model`` with a ``LIFSequence`` of the same equation on ``backend``.

    Returns ``model`` (and a ``ConversionReport`` with ``report=True``). A neuron that cannot be converted stays as
    it was and is named in a warning (``strict=True``: a ValueError instead). The converted neurons carry their
    membrane across calls until ``fastlif.reset_net(model)`` (or SpikingJelly's ``functional.reset_net``, after its
    ``invalidate_reset_cache`` when it had cached the old modules), like the modules they replace.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if backend != "auto":
        dispatch.why_unavailable(backend)  # an unknown name fails before anything is swapped
    result = ConversionReport()
    found = [(name, m, kind) for name, m in model.named_modules() if (kind := _kind(m)) is not None]
    if not found and _kind(model) is not None:
        raise ValueError("model is itself a neuron; convert the model that contains it")
    for name, m, kind in found:
        try:
            new = (_from_spikingjelly if kind == "spikingjelly" else _from_snntorch)(m, backend)
        except NotConvertible as why:
            result.left.append((name, type(m).__name__, str(why)))
            continue
        new.train(m.training)
        _replace(model, name, new)
        result.converted.append((name, type(m).__name__))
    if result.left:
        message = "fastlif.convert left these neurons unconverted:\n" + "\n".join(
            f"  {name} ({cls}): {why}" for name, cls, why in result.left)
        if strict:
            raise ValueError(message)
        warnings.warn(message, stacklevel=2)
    return (model, result) if report else model

