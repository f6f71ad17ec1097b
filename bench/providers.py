"""The LIF implementations the kernel benchmark times, all configured as the same neuron (SPEC §1–3):
decay 0.5 (tau 2), threshold 1, hard reset to 0, the same surrogate, input `[T, N]` time first.

A provider says why it cannot run on a device (or None), and builds a function ``x -> spikes`` that autograd can
differentiate. Peers that are not installed are reported with a reason, never dropped silently.
"""
from __future__ import annotations

import contextlib
from dataclasses import dataclass
from typing import Callable

import torch

import fastlif
from fastlif import dispatch
from fastlif.config import LifConfig

# Surrogates every peer implements with the same formula: sigmoid α=4 (SpikingJelly's default; snnTorch
# sigmoid(slope=4) is α·σ(αz)(1−σ(αz)) too) and atan α=2 (snnTorch's default).
SURROGATES = ("sigmoid", "atan")


@dataclass(frozen=True)
class Case:
    """One benchmark configuration: ``T`` steps of ``N`` neurons."""
    T: int
    N: int
    dtype: torch.dtype
    device: torch.device
    surrogate: str = "sigmoid"

    def __post_init__(self):
        if self.T < 1 or self.N < 1:
            raise ValueError(f"T and N must be >= 1, got T={self.T}, N={self.N}")
        if self.surrogate not in SURROGATES:
            raise ValueError(f"surrogate must be one of {SURROGATES}, got {self.surrogate!r}")


class Provider:
    """Base: ``name`` is the CSV key (bench.kernels.peer_of maps it to the speed-up column it feeds)."""
    name = ""
    # Whether autograd's saved-tensor hooks see what this provider keeps for backward (compiled graphs bypass them).
    hooks_see_saved = True

    def unavailable(self, device: torch.device) -> str | None:
        return None

    def build(self, case: Case) -> Callable[[torch.Tensor], torch.Tensor]:
        raise AssertionError("subclasses define build")

    def context(self):
        """Entered around every forward and backward the harness runs with this provider."""
        return contextlib.nullcontext()


class FastlifBackend(Provider):
    """``fastlif.lif_sequence(..., backend=...)`` for a compiled backend: cpu, cuda or triton."""

    def __init__(self, backend: str):
        self.backend = backend
        self.name = f"fastlif-{backend}"

    def unavailable(self, device):
        return dispatch.why_unavailable(self.backend, device)

    def build(self, case):
        def run(x):
            return fastlif.lif_sequence(x, surrogate=case.surrogate, backend=self.backend)
        return run


class FastlifLearnable(Provider):
    """The same neuron with a learnable time constant and threshold (PLIF, one per layer): ``LIFSequence(tau=2.0,
    learn_decay=True, learn_threshold=True)``, decay = sigmoid(−w) = 0.5 at w = 0, so the spikes are the plain
    row's; the backward also returns dL/dw and dL/dthreshold (the kernels' per-neuron sums, then torch's)."""

    def __init__(self, backend: str):
        self.backend = backend
        self.name = f"fastlif-{backend}-learnable"

    def unavailable(self, device):
        return dispatch.why_unavailable(self.backend, device)

    def build(self, case):
        layer = fastlif.LIFSequence(tau=2.0, learn_decay=True, learn_threshold=True, surrogate=case.surrogate,
                                    backend=self.backend).to(case.device)
        return layer


class Reference(Provider):
    """fastlif's pure-PyTorch loop over time (fastlif/reference.py), eager."""
    name = "reference"

    def build(self, case):
        cfg = LifConfig.make(surrogate=case.surrogate)
        return lambda x: fastlif.reference.run(x, None, cfg, False)


class CompiledReference(Provider):
    """The same loop under ``torch.compile`` (inductor), one static-shape graph per case."""
    name = "reference-compiled"
    hooks_see_saved = False

    def unavailable(self, device):
        if not hasattr(torch, "compile"):
            return "this torch has no torch.compile"
        return None

    def build(self, case):
        cfg = LifConfig.make(surrogate=case.surrogate)
        # Every case is a new shape (T unrolls the loop); dropping earlier graphs keeps dynamo under its
        # recompile limit, past which it would silently fall back to eager and time the wrong thing.
        torch._dynamo.reset()
        return torch.compile(lambda x: fastlif.reference.run(x, None, cfg, False), dynamic=False)


def _spikingjelly_error() -> str | None:
    try:
        from spikingjelly.activation_based import neuron, surrogate  # noqa: F401
    except Exception as err:  # noqa: BLE001 — any import failure means "skip this peer"
        return ("SpikingJelly is not importable here "
                f"({type(err).__name__}: {err}); install it with `pip install --no-deps spikingjelly==2.0.0 loguru`")
    return None


@contextlib.contextmanager
def _spikingjelly_cuda_path(path: str | None):
    """Force SpikingJelly's CUDA LIF implementation ("cuda", "triton" or "torch"); None keeps its own choice.

    SpikingJelly reads SJ_LIF_CUDA_IMPLEMENTATION once at import; its selection object holds the request and a
    per-device cache, which is what this swaps for the duration of a call.
    """
    if path is None:
        yield
        return
    from spikingjelly._ops.lif import _selection
    saved = _selection._requested, _selection._selections
    _selection._requested, _selection._selections = path, {}
    try:
        yield
    finally:
        _selection._requested, _selection._selections = saved


class SpikingJelly(Provider):
    """SpikingJelly 2.0 ``LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, step_mode='m')``.

    tau = 2 without input decay gives h = u/2 + x, fastlif's decay 0.5. On CPU SpikingJelly has one path; on CUDA
    ``path`` picks its native kernel, its Triton kernel or its torch loop.
    """

    def __init__(self, path: str | None = None):
        self.path = path
        self.name = "spikingjelly" if path is None else f"spikingjelly-{path}"

    def unavailable(self, device):
        err = _spikingjelly_error()
        if err:
            return err
        if self.path is not None:
            from spikingjelly._ops.lif import _selection
            if not hasattr(_selection, "_requested"):
                return "this SpikingJelly has no per-path LIF selection to force"
        return None

    def build(self, case):
        from spikingjelly.activation_based import neuron, surrogate
        sg = surrogate.Sigmoid(alpha=4.0) if case.surrogate == "sigmoid" else surrogate.ATan(alpha=2.0)
        node = neuron.LIFNode(tau=2.0, decay_input=False, v_threshold=1.0, v_reset=0.0, surrogate_function=sg,
                              step_mode="m").to(case.device)

        def run(x):
            node.reset()  # LIFNode is stateful; every call starts from rest like the other providers
            return node(x)
        return run

    def context(self):
        # Backward must run under the same path as forward: SpikingJelly picks the backward kernel at call time.
        return _spikingjelly_cuda_path(self.path)


class SnnTorch(Provider):
    """snnTorch 1.0 ``Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero")`` stepped over T in Python."""
    name = "snntorch"

    def unavailable(self, device):
        try:
            import snntorch  # noqa: F401
        except Exception as err:  # noqa: BLE001
            return (f"snnTorch is not importable here ({type(err).__name__}: {err}); "
                    "install it with `pip install --no-deps snntorch==1.0.0`")
        return None

    def build(self, case):
        import snntorch
        from snntorch import surrogate
        sg = surrogate.sigmoid(slope=4) if case.surrogate == "sigmoid" else surrogate.atan(alpha=2.0)
        lif = snntorch.Leaky(beta=0.5, threshold=1.0, reset_mechanism="zero", spike_grad=sg).to(case.device)

        def run(x):
            mem = torch.zeros_like(x[0])
            spikes = []
            for t in range(x.shape[0]):
                spk, mem = lif(x[t], mem)
                spikes.append(spk)
            return torch.stack(spikes)
        return run


def all_providers(device: torch.device) -> list[Provider]:
    """The providers that make sense on ``device``'s type, fastlif's backends first (the speed-ups are theirs).

    On CPU: fastlif's C++ kernel, plain and with learnable parameters (Triton there would only run under its
    interpreter), and one SpikingJelly path; on CUDA: fastlif's CUDA (plain and learnable) and Triton kernels and
    each of SpikingJelly's three CUDA paths.
    """
    if device.type == "cuda":
        own = [FastlifBackend("cuda"), FastlifLearnable("cuda"), FastlifBackend("triton")]
        sj = [SpikingJelly("cuda"), SpikingJelly("triton"), SpikingJelly("torch")]
    else:
        own, sj = [FastlifBackend("cpu"), FastlifLearnable("cpu")], [SpikingJelly()]
    return own + [Reference(), CompiledReference()] + sj + [SnnTorch()]


def select(names: list[str] | None, device: torch.device, log: Callable[[str], None] = print) -> list[Provider]:
    """The providers that can run on ``device`` (restricted to ``names`` when given), logging each skip."""
    known = {p.name: p for p in all_providers(device)}
    if names is not None:
        unknown = [n for n in names if n not in known]
        if unknown:
            raise ValueError(f"unknown provider(s) {unknown} for {device.type}; expected names from {sorted(known)}")
    chosen = []
    for p in known.values():
        if names is not None and p.name not in names:
            continue
        reason = p.unavailable(device)
        if reason is None:
            chosen.append(p)
        else:
            log(f"skip {p.name}: {reason}")
    return chosen
