"""Compact activations: what autograd keeps for backward in a spiking network, made exact and small.

Inside ``compact_activations()`` every tensor a layer saves for its backward passes through one pack hook
(``torch.autograd.graph.saved_tensors_hooks``) that keeps it in one of three forms:

- **bits**, when it is (a dense view of) the spike output of a ``LIFSequence`` that nobody has modified since:
  1 bit per spike (``bits.pack_bits``), unpacked exactly when the backward reads it. Only those tensors: an
  average-pooled or region-thresholded map, or any copy of the spikes, is not known binary and is kept as it is;
- **a recipe**, when it is (a view of) the output of a batch norm (BatchNorm*, tdBN, TEBN, BNTT): the norm is run
  again on its input — which the norm keeps for its own backward anyway — when the backward needs it, in the mode
  and autocast state of the forward, with its running statistics left as they were. That is what the LIF neuron
  after it saves (its input x, or h), so the neuron keeps nothing of its own. ``residual_add`` makes the sum of two
  such tensors (a residual block's BN output and its shortcut) a recipe too;
- as it is, for everything else — and for any tensor under ``min_bytes`` (``MIN_BYTES``, 256 KiB by default),
  whose fixed cost of extra ops would outweigh memory that does not matter.

Recomputing runs the same kernels on the same input, so the gradients are bit-identical to those of an
uncompressed run (python_tests/test_memory_compact.py checks every model family). ``compact(model)`` turns it on
for every forward of a model (``compact(model, False)`` turns it off; fastlif's models are built with it off
— see ``SpikingNet.compact_by_default`` for the measurement).
"""
from __future__ import annotations

import contextlib
import functools
import threading
import weakref

import torch
from torch import nn

from ..neuron import LIFSequence
from . import count
from .bits import PackedBits, is_dense, pack_bits, unpack_bits

# Tensors smaller than this are kept as they are: packing or recomputing one costs a fixed ~0.1 ms of extra op
# launches (one CPU thread: pack + unpack of 1 Ki spikes 0.11 ms, of 64 Ki 0.2 ms, against 0.002 / 0.011 ms to copy
# them), which on a small network's many small tensors made the step ~15 % slower (window SNN, bench/memory.py)
# for memory that does not matter. 256 KiB = 64 Ki fp32 elements.
MIN_BYTES = 256 * 1024

_local = threading.local()  # .sessions: the stack of running compact_activations() blocks of this thread
_hook_users = 0  # running sessions, all threads: the global module hook is installed while > 0
_hook_handle = None
_hook_lock = threading.Lock()


@functools.cache
def _norm_types() -> tuple:
    # imported on first use: fastlif.nn imports this package (SpikingNet builds its models compact)
    from ..nn.batchnorm import BNTT2d
    return (nn.modules.batchnorm._BatchNorm, BNTT2d)


def _storage(t: torch.Tensor) -> int:
    return t.untyped_storage().data_ptr()


def _owns_storage(t: torch.Tensor) -> bool:
    """``t`` starts its storage and fills all of it densely: every byte of the storage is one of its elements."""
    return (t.storage_offset() == 0 and is_dense(t.shape, t.stride())
            and t.untyped_storage().nbytes() == t.numel() * t.element_size())


def _view(t: torch.Tensor) -> tuple:
    return t.shape, t.stride(), t.storage_offset()


def _as_view(whole: torch.Tensor, view: tuple) -> torch.Tensor:
    return whole if _view(whole) == view else whole.as_strided(*view)


class _Spikes:
    """A spike tensor that owns its storage, packed to bits the first time a layer saves (a view of) it."""

    def __init__(self, s: torch.Tensor):
        self.ref, self.version = weakref.ref(s), s._version
        self.packed: PackedBits | None = None
        self.views: dict[tuple, _SpikeView] = {}

    def usable_for(self, t: torch.Tensor) -> bool:
        s = self.ref()
        return s is not None and s._version == self.version and s.dtype == t.dtype

    def recipe(self, t: torch.Tensor):
        if self.packed is None:
            self.packed = pack_bits(self.ref())
        return _SpikeView(self.packed, t)


class _SpikeView:
    """A saved view of a spike tensor, kept as the bits of the whole tensor (shared by all its saved views)."""

    def __init__(self, packed: PackedBits, t: torch.Tensor):
        self.packed, self.view = packed, _view(t)

    def kept(self):
        return [self.packed.data]

    def materialize(self) -> torch.Tensor:
        return _as_view(unpack_bits(self.packed), self.view)


class _NormCall:
    """One forward call of a norm module: enough to run it again exactly."""

    def __init__(self, module: nn.Module, args: tuple, output: torch.Tensor, forward=None):
        self.module, self.args = module, args
        self.forward = module.forward if forward is None else forward
        self.training = module.training
        self.device_type = output.device.type
        self.autocast = (torch.is_autocast_enabled(self.device_type), torch.get_autocast_dtype(self.device_type))
        self.versions = [p._version for p in module.parameters()] + [a._version for a in args]
        self.output = weakref.ref(output)
        self.out_version = output._version
        self.shape, self.stride = output.shape, output.stride()
        self.views: dict[tuple, _Recompute] = {}

    def usable_for(self, t: torch.Tensor) -> bool:
        out = self.output()
        return out is not None and out._version == self.out_version and out.dtype == t.dtype

    def recipe(self, t: torch.Tensor):
        return _Recompute(self, t)

    def run(self) -> torch.Tensor:
        now = [p._version for p in self.module.parameters()] + [a._version for a in self.args]
        if now != self.versions:
            raise RuntimeError(f"fastlif.memory: a parameter or the input of {type(self.module).__name__} was "
                               "modified in place between the forward and the backward, so its output cannot be "
                               "recomputed; run the backward first, or turn the compaction off "
                               "(fastlif.memory.compact(model, False))")
        buffers = [b.clone() for b in self.module.buffers()]  # the forward updated the running statistics once
        was_training = self.module.training
        try:
            self.module.train(self.training)
            with torch.no_grad(), torch.autocast(self.device_type, dtype=self.autocast[1], enabled=self.autocast[0]):
                out = self.forward(*self.args)
        finally:
            self.module.train(was_training)
            for b, saved in zip(self.module.buffers(), buffers):
                b.copy_(saved)
        if out.shape != self.shape or out.stride() != self.stride:
            raise RuntimeError(f"fastlif.memory: recomputing {type(self.module).__name__} gave a different layout")
        return out


class _Recompute:
    """A saved view (shape, stride, offset) of a norm's output, recomputed from the norm's input."""

    def __init__(self, call: _NormCall, t: torch.Tensor):
        self.call, self.view = call, _view(t)

    def kept(self):
        return [a for a in self.call.args if isinstance(a, torch.Tensor)]

    def materialize(self) -> torch.Tensor:
        return _as_view(self.call.run(), self.view)


class _Sum:
    """``a + b`` of two recipes (a residual add of a BN output and its shortcut)."""

    def __init__(self, a, b, t: torch.Tensor):
        self.a, self.b = a, b
        self.output, self.version = weakref.ref(t), t._version
        self.shape, self.stride = t.shape, t.stride()
        self.views: dict[tuple, _Sum | None] = {}

    def usable_for(self, t: torch.Tensor) -> bool:
        out = self.output()
        return out is not None and out._version == self.version and out.dtype == t.dtype

    def recipe(self, t: torch.Tensor):
        return self if _view(t) == (self.shape, self.stride, 0) else None  # the whole sum only

    def kept(self):
        return self.a.kept() + self.b.kept()

    def materialize(self) -> torch.Tensor:
        a, b = self.a.materialize(), self.b.materialize()
        # a is a fresh tensor (recomputed or unpacked): adding into it saves allocating and faulting in another
        out = a.add_(b) if (a.shape, a.stride()) == (self.shape, self.stride) else a + b
        if out.shape != self.shape or out.stride() != self.stride:
            raise RuntimeError("fastlif.memory: recomputing a residual add gave a different layout")
        return out


class _Session:
    """One running ``compact_activations()`` block: the tensors it knows how to keep small, by storage."""

    def __init__(self, min_bytes: int):
        self.min_bytes = min_bytes
        # storage address → the spike tensor, norm call or residual_add whose output owns it. An address is reused
        # once its tensor is freed, so an entry counts only while that tensor is alive and unmodified (usable_for).
        self.known: dict[int, object] = {}

    def _large(self, t: torch.Tensor) -> bool:
        return t.numel() > 0 and t.untyped_storage().nbytes() >= self.min_bytes

    def saw(self, module: nn.Module, args: tuple, output) -> None:
        if isinstance(module, LIFSequence):
            s = output[0] if isinstance(output, tuple) else output
            if isinstance(s, torch.Tensor) and s.is_floating_point() and self._large(s) and _owns_storage(s):
                self.known[_storage(s)] = _Spikes(s)
        elif (isinstance(module, _norm_types()) and isinstance(output, torch.Tensor) and len(args) == 1
              and isinstance(args[0], torch.Tensor)):
            self.add_norm(module, args, output, None)

    def add_norm(self, module: nn.Module, args: tuple, output: torch.Tensor, forward) -> None:
        if (output.is_floating_point() and self._large(output)
                and _owns_storage(output if output._base is None else output._base)):
            self.known[_storage(output)] = _NormCall(module, args, output, forward)

    def add_sum(self, a, b, out: torch.Tensor) -> None:
        if self._large(out) and _owns_storage(out):
            self.known[_storage(out)] = _Sum(a, b, out)

    def recipe(self, t: torch.Tensor):
        """A recipe that gives back ``t`` exactly, or None when ``t`` must be kept as it is."""
        entry = self.known.get(_storage(t))  # most saved tensors (weights, other activations) stop here
        if entry is None or not entry.usable_for(t):
            return None
        key = (t.storage_offset(), tuple(t.shape), tuple(t.stride()))
        if key not in entry.views:  # one recipe per saved view, however many layers save it
            entry.views[key] = entry.recipe(t)
        return entry.views[key]


def _session():
    sessions = getattr(_local, "sessions", None)
    return sessions[-1] if sessions else None


def _module_hook(module, args, output):
    session = _session()
    if session is not None:
        session.saw(module, args, output)


def _pack(t: torch.Tensor):
    session = _session()
    recipe = session.recipe(t) if session is not None else None
    if recipe is None:
        count.report([t])
        return t
    count.report(recipe.kept())
    return recipe


def _unpack(saved):
    return saved if isinstance(saved, torch.Tensor) else saved.materialize()


def active_hooks():
    """The pack and unpack hooks of a running ``compact_activations()`` block of this thread, else None."""
    return (_pack, _unpack) if _session() is not None else None


def _check_min_bytes(min_bytes) -> int:
    if isinstance(min_bytes, bool) or not isinstance(min_bytes, int):
        raise TypeError(f"min_bytes must be an int, got {type(min_bytes).__name__}")
    if min_bytes < 0:
        raise ValueError(f"min_bytes must be >= 0, got {min_bytes}")
    return min_bytes


@contextlib.contextmanager
def compact_activations(enabled: bool = True, *, min_bytes: int = MIN_BYTES):
    """Within the block, spikes saved for backward are kept as bits and batch-norm outputs are recomputed instead
    of kept (see the module docstring); the gradients stay bit-identical. Only tensors of at least ``min_bytes``
    (default ``MIN_BYTES``, 256 KiB) are compacted. ``enabled=False`` makes it a no-op."""
    _check_min_bytes(min_bytes)
    if not enabled:
        yield
        return
    global _hook_users, _hook_handle
    with _hook_lock:
        if _hook_users == 0:
            _hook_handle = nn.modules.module.register_module_forward_hook(_module_hook)
        _hook_users += 1
    sessions = _local.__dict__.setdefault("sessions", [])
    sessions.append(_Session(min_bytes))
    try:
        with torch.autograd.graph.saved_tensors_hooks(_pack, _unpack):
            yield
    finally:
        sessions.pop()
        with _hook_lock:
            _hook_users -= 1
            if _hook_users == 0:
                _hook_handle.remove()
                _hook_handle = None


def recomputable(module: nn.Module, x: torch.Tensor, output: torch.Tensor, forward) -> torch.Tensor:
    """Returns ``output``, which is ``forward(x)``, a norm computed inside ``module`` (e.g. TEBN's shared BN before
    its per-step scale); inside ``compact_activations()`` a layer that saves it keeps nothing of its own: it is run
    again from ``x`` in backward, as a norm module's output is."""
    session = _session()
    if session is not None and torch.is_grad_enabled() and isinstance(output, torch.Tensor):
        session.add_norm(module, (x,), output, forward)
    return output


def residual_add(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``a + b``; inside ``compact_activations()``, when both are recomputable (BN outputs, spikes, sums), the sum
    is recomputed from them in backward instead of kept by the layer that saves it (the neuron after the add)."""
    out = a + b
    session = _session()
    if session is not None and torch.is_grad_enabled() and isinstance(out, torch.Tensor):
        ra, rb = session.recipe(a), session.recipe(b)
        if ra is not None and rb is not None and out.dtype == a.dtype == b.dtype:
            session.add_sum(ra, rb, out)
    return out


# ---- the per-model switch ----

_FLAG = "compact_activations"
_MIN_BYTES_ATTR = "compact_min_bytes"


def _enter(module, args):
    if getattr(module, _FLAG, False) and torch.is_grad_enabled() and not torch.compiler.is_compiling():
        block = compact_activations(min_bytes=getattr(module, _MIN_BYTES_ATTR, MIN_BYTES))
        block.__enter__()
        module.__dict__.setdefault("_compact_blocks", []).append(block)


def _exit(module, args, output):
    blocks = module.__dict__.get("_compact_blocks")
    if blocks:
        blocks.pop().__exit__(None, None, None)


def compact(model: nn.Module, enabled: bool = True, *, min_bytes: int = MIN_BYTES) -> nn.Module:
    """Run every forward of ``model`` inside ``compact_activations(min_bytes=min_bytes)`` (``enabled=False``: turn
    that off again). Returns ``model``. The settings are the attributes ``model.compact_activations`` and
    ``model.compact_min_bytes``; they survive ``copy.deepcopy`` and pickling, and change nothing in the state
    dict."""
    if not isinstance(model, nn.Module):
        raise TypeError(f"model must be an nn.Module, got {type(model).__name__}")
    if not isinstance(enabled, bool):
        raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
    _check_min_bytes(min_bytes)
    if _enter not in model._forward_pre_hooks.values():
        model.register_forward_pre_hook(_enter)
        model.register_forward_hook(_exit, always_call=True)
    setattr(model, _FLAG, enabled)
    setattr(model, _MIN_BYTES_ATTR, min_bytes)
    return model


def is_compact(model: nn.Module) -> bool:
    """Whether ``compact(model)`` is on."""
    return bool(getattr(model, _FLAG, False)) and _enter in model._forward_pre_hooks.values()
