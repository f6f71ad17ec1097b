"""Synaptic-operation counts, energy estimates and firing rates of a spiking network (SPEC §8).

``SOPCounter`` hooks every convolution, linear and recurrent (RNN/GRU/LSTM) layer. A spiking layer costs, per
non-zero input element, one accumulate for each synapse the element reaches: ``SOP_l = (#non-zero inputs of layer l)
× fan-out_l`` with fan-out ``C_out·k²/stride²`` for a convolution (per group: ``C_out/groups``) and
``out_features`` for a linear layer, whatever the leading dims of the input (``[T·B, F]``, ``[T, B, F]`` or
per-token ``[T·B, H, W, C]``). A real-valued layer (by default the first one that runs; ``mac_layers`` names
them) is counted as multiply-accumulates: ``MAC = (output elements) × (C_in/groups·k²)``. A recurrent layer on
spikes has both: its input-to-hidden products are SOPs (fan-out gates·hidden per direction), its products on the
real-valued hidden state are MACs (``_recurrent_costs``). Then (TET §5.1, SLT §Energy)

    E_SNN(t)   = 4.6 pJ × MAC(t) + 0.9 pJ × Σ_l SOP_l(t)        (45 nm CMOS, Horowitz 2014)
    E_neuro(t) = 77 fJ × Σ_l SOP_l(t)                           (neuromorphic chip, Qiao et al. 2015)
    E_ANN      = 4.6 pJ × Σ_l MAC_l                             (the same network as a one-pass ANN)

Counting is per forward pass of the model: a layer called several times in one pass (a synapse shared by the four
windows of a window cell) adds up the non-zero inputs and MACs of every call, and the pass adds its batch size B —
read from the model's output ``[T, B, ...]`` (the fastlif model contract) — once to the samples seen.

Time: the code that calls a layer declares the layout of its input (``fastlif.nn.time_layout``): "folded"
``[T·B, ...]`` (time-major, as ``x.flatten(0, 1)`` makes; ``TimeFolded``, ``seq_apply``) or "sequence" ``[T, B, ...]``
(``Readout``) give counts for every step, so one pass of T steps gives the numbers for every latency t ≤ T (the
networks are causal: their first t steps are a t-step run). "shared" ``[B, ...]`` is a layer computed once for what
every step uses — the first conv of a direct-encoded static input, run once on the stride-0 input (``seq_apply``):
it is charged at every step, as SPEC §8's ``MAC(first layer) × T`` and the TET/SLT code, which convolve the
repeated input at each of the T steps. "once" ``[B, ...]`` is a layer of a pass that is itself one step evaluated
once (the window SNN on a static input without random draws, its output expanded over T): charged to step 1, the
same at every latency. Counts are per sample, averaged over all samples.

A layer of a model that declares nothing is read by its input's leading dims, B being the batch of the model's
output: ``T·B`` is "folded"; when the model's output is expanded over T (stride 0, so the pass ran once) ``B`` is
"once"; ``(T, B)`` is "sequence"; ``B`` is "shared". Where T = B > 1 an input ``[T, B, ...]`` could equally be a
"shared" ``[B, B, ...]``: that is a ValueError asking for a declaration, never a guess.

Any non-zero input counts as one event — for average-pooled spikes (values k/4) that is one accumulate of a scaled
weight. Element-wise work (normalisation, neuron updates, gate non-linearities) is not counted, as in the papers.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import torch
from torch import nn

from .checks import check_int
from .nn.time_layout import FOLDED, ONCE, SEQUENCE, SHARED, current_time_layout

__all__ = ["E_AC_PJ", "E_MAC_PJ", "E_SOP_NEURO_PJ", "LayerCount", "EnergyReport", "SOPCounter", "FiringRateMonitor"]

E_AC_PJ = 0.9           # one 32-bit float add, 45 nm (Horowitz 2014), as TET and Rathi & Roy use
E_MAC_PJ = 4.6          # one 32-bit float multiply-add, 45 nm
E_SOP_NEURO_PJ = 0.077  # 77 fJ per synaptic operation (Qiao et al. 2015), as SLT uses

_FEEDFORWARD = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)
_COUNTED = _FEEDFORWARD + (nn.RNNBase,)


def _steps(T: int) -> torch.Tensor:
    """``[T]`` zeros: an amount per time step."""
    return torch.zeros(T, dtype=torch.float64)


def _fan_out(m: nn.Module) -> float:
    if isinstance(m, nn.Linear):
        return float(m.out_features)
    if isinstance(m, nn.RNNBase):
        return float(_recurrent_costs(m)[0])
    k = math.prod(m.kernel_size)
    s = math.prod(m.stride)
    return m.out_channels / m.groups * k / s


def _fan_in(m: nn.Module) -> int:
    if isinstance(m, nn.Linear):
        return m.in_features
    return m.in_channels // m.groups * math.prod(m.kernel_size)


def _recurrent_costs(m: nn.RNNBase) -> tuple[int, int, int]:
    """``(fan-out, input MACs, state MACs)`` of a recurrent layer, the MACs per input token.

    Only the first layer's input-to-hidden products see the layer's input, which may be spikes: each non-zero
    input element reaches ``gates·hidden`` weights per direction, its fan-out (gates: 4 LSTM, 3 GRU, 1 RNN). Every
    other product multiplies real-valued state — hidden-to-hidden ``W_hh·h`` at every token (also the first, whose
    h is the initial state), an LSTM's projection, and the input-to-hidden of stacked layers, fed by the layer
    below's hidden output — so it is a MAC whether the input is spikes or not.
    """
    first = {"weight_ih_l0", "weight_ih_l0_reverse"}
    weights = {name: p for name, p in m.named_parameters() if name.startswith("weight_")}
    directions = 2 if m.bidirectional else 1
    fan_out = directions * m.weight_ih_l0.shape[0]
    input_macs = sum(p.numel() for name, p in weights.items() if name in first)
    state_macs = sum(p.numel() for name, p in weights.items() if name not in first)
    return fan_out, input_macs, state_macs


@dataclass
class LayerCount:
    """Running counts of one layer, summed over all samples seen (divide by ``samples`` for per-sample values).

    Every ``[T]`` tensor holds the amount at each step t (not cumulative)."""

    name: str
    kind: str                         # "mac" (real-valued input) or "sop"
    fan_out: float
    spikes: torch.Tensor = field(default_factory=lambda: _steps(0))      # [T] non-zero inputs
    macs: torch.Tensor = field(default_factory=lambda: _steps(0))        # [T] all its MACs
    state_macs: torch.Tensor = field(default_factory=lambda: _steps(0))  # [T] MACs on recurrent state, see below
    samples: int = 0
    binary_input: bool = True         # False once a non-0/1 input value was seen (pooled spikes, counts)
    # ``state_macs`` are the products on real-valued recurrent state (``_recurrent_costs``): MACs even when the
    # layer's input is spikes. ``macs`` is what the layer costs as an ANN layer, ``state_macs`` included.

    @property
    def pass_macs(self) -> float:
        """MACs of one sample's one-step pass: this layer's share of the equivalent ANN."""
        return float(self.macs[0]) / self.samples if self.samples else 0.0

    def cumulative_sops(self) -> torch.Tensor:
        """``[T]`` SOPs per sample up to each latency (zeros for a MAC layer)."""
        if self.kind == "mac" or self.samples == 0:
            return _steps(len(self.spikes))
        return self.spikes.cumsum(0) * self.fan_out / self.samples

    def cumulative_macs(self) -> torch.Tensor:
        """``[T]`` MACs per sample up to each latency priced as MACs: all of a MAC layer's, a SOP layer's state."""
        if self.samples == 0:
            return _steps(len(self.macs))
        return (self.macs if self.kind == "mac" else self.state_macs).cumsum(0) / self.samples


@dataclass
class EnergyReport:
    """Per-sample numbers at every latency t = 1..T (index t−1), per layer and in total."""

    T: int
    layers: list                      # [LayerCount]
    sops: torch.Tensor                # [T] Σ_l SOP_l(t), cumulative over steps, per sample
    macs: torch.Tensor                # [T] MACs up to t (real-valued layers, recurrent state), per sample
    ann_macs: float                   # Σ_l MAC_l of the equivalent ANN, per sample

    @property
    def energy_pj(self) -> torch.Tensor:
        return E_MAC_PJ * self.macs + E_AC_PJ * self.sops

    @property
    def energy_neuro_pj(self) -> torch.Tensor:
        return E_SOP_NEURO_PJ * self.sops

    @property
    def ann_energy_pj(self) -> float:
        return E_MAC_PJ * self.ann_macs

    def layer_sops(self, name: str) -> torch.Tensor:
        """``[T]`` cumulative SOPs of one layer per sample (zeros for a MAC layer)."""
        lc = next((lc for lc in self.layers if lc.name == name), None)
        if lc is None:
            raise ValueError(f"name: no counted layer {name!r}; counted: {[lc.name for lc in self.layers]}")
        return lc.cumulative_sops()

    def rows(self) -> list[dict]:
        """One dict per latency: t, SOPs, MACs, E_SNN and E_neuro (pJ), E_ANN (pJ)."""
        return [{"t": t + 1, "sops": float(self.sops[t]), "macs": float(self.macs[t]),
                 "energy_pj": float(self.energy_pj[t]), "energy_neuro_pj": float(self.energy_neuro_pj[t]),
                 "ann_energy_pj": self.ann_energy_pj} for t in range(self.T)]


def _grow(v: torch.Tensor, T: int) -> torch.Tensor:
    """A copy of ``v`` zero-extended to at least length T (never shortened: other passes may be longer)."""
    return torch.cat([v, v.new_zeros(max(0, T - len(v)))])


@dataclass
class _Call:
    """One call of a layer within a pass: non-zero inputs per leading index, and its MACs in total."""

    shape: tuple                      # input shape, batch axis first
    nonzeros: torch.Tensor            # [d0] or [d0, d1]: non-zero inputs summed over the rest
    macs: float
    state_macs: float
    layout: Optional[str]             # the declared time layout (fastlif.nn.time_layout), None if undeclared


# What each time layout looks like, for the messages.
_FORMS = {FOLDED: "[T*B, ...]", SEQUENCE: "[T, B, ...]", SHARED: "[B, ...]", ONCE: "[B, ...]"}


class _LayerHooks:
    """Context manager: a forward hook on each of ``model``'s layers of ``layer_types``, removed on exit; every call
    of one goes to ``self._record(name, module, inputs, output)``."""

    def __init__(self, model: nn.Module, layer_types: tuple, missing: str):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        self.model = model
        self._modules = {name: m for name, m in model.named_modules() if isinstance(m, layer_types)}
        if not self._modules:
            raise ValueError(f"model: has no {missing}")
        self._handles = []

    def __enter__(self):
        for name, m in self._modules.items():
            self._handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self._record(name, module, inputs, output)
        return hook


class SOPCounter(_LayerHooks):
    """Context manager counting SOPs and MACs of ``model``'s conv/linear/recurrent layers over the passes inside.

    ``T`` is the number of time steps of each pass; the model's output must be ``[T, B, ...]``. ``mac_layers``
    names the layers with real-valued input, counted as MACs; by default the first counted layer that runs.
    Each layer's time layout is the one declared around its call (``fastlif.nn.time_layout``; every fastlif model
    declares its own), else read from its input's shape by the rule of the module docstring.
    ``report()`` gives per-sample SOPs, MACs and energies at every latency t ≤ T.

        with SOPCounter(model, T=10) as c:
            model(x)
        print(c.report().energy_pj)
    """

    def __init__(self, model: nn.Module, T: int, mac_layers: Optional[Iterable[str]] = None):
        super().__init__(model, _COUNTED, "Conv1d/2d/3d, Linear or RNN/GRU/LSTM layer to count")
        check_int("T", T)
        self.T = T
        self.counts: dict[str, LayerCount] = {}
        if isinstance(mac_layers, str):
            raise TypeError(f"mac_layers: expected an iterable of layer names, got the string {mac_layers!r}")
        self._mac = None if mac_layers is None else set(mac_layers)
        if self._mac is not None:
            unknown = self._mac - set(self._modules)
            if unknown:
                raise ValueError(f"mac_layers: {sorted(unknown)} are not conv/linear/recurrent layers of the model")
        self._pass: Optional[dict] = None   # name -> [_Call] of the pass running now, None outside a pass
        self._depth = 0                     # the model's forward re-entered (nested calls of the root)

    def __enter__(self) -> "SOPCounter":
        self._handles.append(self.model.register_forward_pre_hook(self._begin_pass))
        self._handles.append(self.model.register_forward_hook(self._end_pass, always_call=True))
        return super().__enter__()

    def __exit__(self, *exc) -> None:
        super().__exit__(*exc)
        self._pass, self._depth = None, 0

    def _begin_pass(self, module, args) -> None:
        if self._depth == 0:
            self._pass = {}
        self._depth += 1

    def _end_pass(self, module, args, output) -> None:
        self._depth -= 1
        if self._depth > 0:
            return
        calls, self._pass = self._pass, None
        if output is None:      # the forward raised (always_call): nothing of the pass is kept
            return
        out = output[0] if isinstance(output, (tuple, list)) else output
        if not isinstance(out, torch.Tensor) or out.dim() < 2 or out.shape[0] != self.T:
            shape = tuple(out.shape) if isinstance(out, torch.Tensor) else type(out).__name__
            raise ValueError(f"model: output {shape} is not [T, B, ...] with T = {self.T}; the counter reads the "
                             "batch size from it (run the model for T steps)")
        batch = out.shape[1]
        ran_once = out.stride(0) == 0 and self.T > 1     # an output expanded over T was computed once
        per_step = {name: [self._split_steps(name, c, batch, ran_once) for c in layer_calls]
                    for name, layer_calls in calls.items()}
        for name, parts in per_step.items():     # all calls checked before any count changes
            lc = self.counts[name]
            for nz, macs, state_macs in parts:
                lc.spikes += nz
                lc.macs += macs
                lc.state_macs += state_macs
            lc.samples += batch

    def _fits(self, layout: str, call: _Call, batch: int) -> bool:
        shape = call.shape
        if layout == FOLDED:
            return shape[0] == self.T * batch
        if layout == SEQUENCE:
            return call.nonzeros.dim() == 2 and shape[:2] == (self.T, batch)
        return shape[0] == batch

    def _undeclared_layout(self, name: str, call: _Call, batch: int, ran_once: bool) -> str:
        """The layout of an undeclared call, by the rule of the module docstring."""
        if self._fits(FOLDED, call, batch):
            return FOLDED
        if ran_once and self._fits(ONCE, call, batch):
            return ONCE
        if self._fits(SEQUENCE, call, batch):
            if self.T > 1 and self._fits(SHARED, call, batch):
                raise ValueError(
                    f"{name}: input {call.shape} could be [T, B, ...] or [B, ...] (T = B = {batch}); declare the "
                    "layout the layer is called with, e.g. `with fastlif.nn.time_layout(\"sequence\"): "
                    "layer(x)` (or \"shared\" for one result every step uses; see fastlif.nn.time_layout)")
            return SEQUENCE
        if self._fits(SHARED, call, batch):
            return SHARED
        raise ValueError(f"{name}: input {call.shape} is none of [T*B, ...], [T, B, ...] or [B, ...] for T = "
                         f"{self.T} and B = {batch} (the batch of the model's output)")

    def _split_steps(self, name: str, call: _Call, batch: int, ran_once: bool):
        """``[T]`` non-zero inputs, MACs and state MACs of one call, summed over the batch, per step."""
        layout = call.layout or self._undeclared_layout(name, call, batch, ran_once)
        if not self._fits(layout, call, batch):
            raise ValueError(f"{name}: input {call.shape} was declared {layout!r}, {_FORMS[layout]}, but is not "
                             f"that for T = {self.T} and B = {batch} (the batch of the model's output)")
        T, nz = self.T, call.nonzeros
        if layout in (FOLDED, SEQUENCE):
            per_step = nz.reshape(T, -1).sum(1) if layout == FOLDED else nz.sum(1)
            return per_step, _steps(T) + call.macs / T, _steps(T) + call.state_macs / T
        # One result for all steps. "shared" is a shortcut of the implementation, not of the network: each step
        # uses the result, so each step is charged for it; "once" is a one-step network, charged once.
        steps = _steps(T)
        if layout == ONCE:
            steps[0] = 1.0
        else:
            steps += 1.0
        return steps * nz.sum(), steps * call.macs, steps * call.state_macs

    def _layer_count(self, name: str, m: nn.Module) -> LayerCount:
        lc = self.counts.get(name)
        if lc is None:
            if self._mac is None:
                is_mac = not any(c.kind == "mac" for c in self.counts.values())
            else:
                is_mac = name in self._mac
            T = self.T
            lc = self.counts[name] = LayerCount(name, "mac" if is_mac else "sop", _fan_out(m), spikes=_steps(T),
                                                macs=_steps(T), state_macs=_steps(T))
        return lc

    def _record(self, name: str, m: nn.Module, inputs, out) -> None:
        x = inputs[0]
        if self._pass is None:
            raise ValueError(f"{name}: ran outside a forward of the model given to SOPCounter; the counts are per "
                             "pass of that model, so call the model itself inside the `with` block")
        if not isinstance(x, torch.Tensor):
            raise TypeError(f"{name}: expected a tensor input, got {type(x).__name__} (packed sequences are not "
                            "counted)")
        x = x.detach()
        if isinstance(m, nn.RNNBase):
            unbatched = x.dim() == 2
            if unbatched:
                x = x.unsqueeze(0)
            elif not m.batch_first:
                x = x.transpose(0, 1)                    # [L, N, C] -> [N, L, C]: batch axis first
            _, input_macs, state_macs = _recurrent_costs(m)
            tokens = x.numel() // x.shape[-1]
            macs, state = tokens * (input_macs + state_macs), tokens * state_macs
            batch_dims = 1
        else:
            sample_dims = 1 if isinstance(m, nn.Linear) else len(m.kernel_size) + 1
            if x.dim() == sample_dims:                   # unbatched input
                x = x.unsqueeze(0)
            macs, state = out.numel() * _fan_in(m), 0
            batch_dims = x.dim() - sample_dims
        lc = self._layer_count(name, m)
        if lc.kind == "mac":
            nonzeros = torch.zeros(x.shape[:min(2, batch_dims)], dtype=torch.float64)
        else:
            nonzero = x != 0
            keep = min(2, batch_dims)
            nonzeros = nonzero.reshape(*x.shape[:keep], -1).sum(-1).to(torch.float64).cpu()
            if lc.binary_input and bool((nonzero & (x != 1)).any()):
                lc.binary_input = False
        call = _Call(tuple(x.shape), nonzeros, float(macs), float(state), current_time_layout())
        self._pass.setdefault(name, []).append(call)

    def report(self) -> EnergyReport:
        layers = list(self.counts.values())
        if not any(lc.samples for lc in layers):
            raise ValueError("no forward pass was counted: run the model inside the `with SOPCounter(...)` block")
        sops = sum((lc.cumulative_sops() for lc in layers), _steps(self.T))
        macs = sum((lc.cumulative_macs() for lc in layers), _steps(self.T))
        ann = sum(lc.pass_macs for lc in layers)
        return EnergyReport(self.T, layers, sops, macs, float(ann))


class FiringRateMonitor(_LayerHooks):
    """Context manager recording, per spiking layer, the firing rate at each time step and the histogram of
    per-neuron spike counts over the T steps of a pass.

    ``layer_types`` selects the spiking layers (default: every ``fastlif.LIFSequence``); each one's output
    ``[T, ...]`` (or the first element of a tuple output) must be its spikes.

        with FiringRateMonitor(model) as mon:
            model(x)
        mon.rates()["features.1"]        # [T] mean firing rate at each step
        mon.histogram("features.1", T)   # [T+1] fraction of neurons that fired k = 0..T times
    """

    def __init__(self, model: nn.Module, layer_types=None):
        if layer_types is None:
            from .neuron import LIFSequence
            layer_types = (LIFSequence,)
        layer_types = tuple(layer_types)
        super().__init__(model, layer_types, f"spiking layer of type {[t.__name__ for t in layer_types]}")
        self._spikes: dict[str, torch.Tensor] = {}   # [T] spike sums per step
        self._neurons: dict[str, torch.Tensor] = {}  # [T] neuron-samples seen per step
        self._hist: dict[tuple, torch.Tensor] = {}   # (name, T) -> [T+1] neuron-samples with k spikes

    def _record(self, name: str, module, inputs, output) -> None:
        s = (output[0] if isinstance(output, (tuple, list)) else output).detach()
        T = s.shape[0]
        per_step = s.reshape(T, -1).to(torch.float64)
        spikes = _grow(self._spikes.get(name, torch.zeros(0, dtype=torch.float64)), T)
        neurons = _grow(self._neurons.get(name, torch.zeros(0, dtype=torch.float64)), T)
        spikes[:T] += per_step.sum(1).cpu()
        neurons[:T] += per_step.shape[1]
        self._spikes[name], self._neurons[name] = spikes, neurons
        # Spike count of every (sample, neuron) over the pass: how many of the T steps it fired.
        k = per_step.sum(0).round().long().clamp_(0, T).cpu()
        hist = torch.bincount(k, minlength=T + 1).to(torch.float64)
        self._hist[(name, T)] = self._hist.get((name, T), torch.zeros(T + 1, dtype=torch.float64)) + hist

    def rates(self) -> dict:
        """``{layer: [T] mean firing rate per step}`` over everything recorded."""
        return {name: self._spikes[name] / self._neurons[name].clamp_min(1) for name in self._spikes}

    def mean_rates(self) -> dict:
        """``{layer: firing rate}`` averaged over all steps and neurons."""
        return {name: float(self._spikes[name].sum() / self._neurons[name].sum().clamp_min(1))
                for name in self._spikes}

    def histogram(self, name: str, T: int) -> torch.Tensor:
        """Fraction of (neuron, sample) pairs of layer ``name`` that spiked k = 0..T times in passes of T steps."""
        if (name, T) not in self._hist:
            raise ValueError(f"name/T: nothing recorded for layer {name!r} with T = {T}; "
                             f"recorded: {sorted(self._hist)}")
        h = self._hist[(name, T)]
        return h / h.sum()
