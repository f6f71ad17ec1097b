"""Synaptic-operation counts, energy estimates and firing rates of a spiking network (SPEC §8).

``SOPCounter`` hooks every convolution and linear layer. A spiking layer costs, per input spike, one accumulate
for each synapse the spike reaches: ``SOP_l = (#input spikes of layer l) × fan-out_l`` with fan-out
``C_out·k²/stride²`` for a convolution (per group: ``C_out/groups``) and ``out_features`` for a linear layer.
The first layer sees real-valued input (pixels, or event counts) and is counted as multiply-accumulates:
``MAC = (output elements) × (C_in/groups·k²)`` per sample and time step. Then (TET §5.1, SLT §Energy)

    E_SNN(t)   = 4.6 pJ × MAC_first(t) + 0.9 pJ × Σ_l SOP_l(t)      (45 nm CMOS, Horowitz 2014)
    E_neuro(t) = 77 fJ × Σ_l SOP_l(t)                               (neuromorphic chip, Qiao et al. 2015)
    E_ANN      = 4.6 pJ × Σ_l MAC_l                                 (the same network as a one-pass ANN)

Spikes are counted per time step, so one forward pass of T steps gives the numbers for every latency t ≤ T (the
networks are causal: their first t steps are a t-step run). Counts are per sample, averaged over all samples seen.

Layers run on ``[T, B, ...]`` or on time folded into the batch ``[T·B, ...]`` (time-major, as
``x.flatten(0, 1)`` makes): both are read as ``[T, rest]`` per layer. Any non-zero input counts as one event —
for average-pooled spikes (values k/4) that is one accumulate of a scaled weight.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Iterable, Optional

import torch
from torch import nn

__all__ = ["E_AC_PJ", "E_MAC_PJ", "E_SOP_NEURO_PJ", "LayerCount", "EnergyReport", "SOPCounter", "FiringRateMonitor"]

E_AC_PJ = 0.9           # one 32-bit float add, 45 nm (Horowitz 2014), as TET and Rathi & Roy use
E_MAC_PJ = 4.6          # one 32-bit float multiply-add, 45 nm
E_SOP_NEURO_PJ = 0.077  # 77 fJ per synaptic operation (Qiao et al. 2015), as SLT uses

_COUNTED = (nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Linear)


def _fan_out(m: nn.Module) -> float:
    if isinstance(m, nn.Linear):
        return float(m.out_features)
    k = math.prod(m.kernel_size)
    s = math.prod(m.stride)
    return m.out_channels / m.groups * k / s


def _fan_in(m: nn.Module) -> int:
    if isinstance(m, nn.Linear):
        return m.in_features
    return m.in_channels // m.groups * math.prod(m.kernel_size)


def _item_dims(m: nn.Module) -> int:
    """Trailing dims of one sample at one step: (F,) for linear, (C, L) / (C, H, W) / (C, D, H, W) for conv."""
    return 1 if isinstance(m, nn.Linear) else len(m.kernel_size) + 1


@dataclass
class LayerCount:
    """Running counts of one layer, summed over all samples seen (divide by ``samples`` for per-sample values)."""

    name: str
    kind: str                         # "mac" (first, real-valued input) or "sop"
    fan_out: float
    macs_per_step: float = 0.0        # MACs per sample and time step (its ANN cost)
    spikes: torch.Tensor = field(default_factory=lambda: torch.zeros(0, dtype=torch.float64))  # [T] input nonzeros
    samples: int = 0
    binary_input: bool = True         # False once a non-0/1 input value was seen (pooled spikes, counts)


@dataclass
class EnergyReport:
    """Per-sample numbers at every latency t = 1..T (index t−1), per layer and in total."""

    T: int
    layers: list                      # [LayerCount]
    sops: torch.Tensor                # [T] Σ_l SOP_l(t), cumulative over steps, per sample
    macs: torch.Tensor                # [T] first-layer MACs up to t, per sample
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
        """``[T]`` cumulative SOPs of one layer per sample (zeros for the MAC layer)."""
        lc = next((lc for lc in self.layers if lc.name == name), None)
        if lc is None:
            raise ValueError(f"name: no counted layer {name!r}; counted: {[lc.name for lc in self.layers]}")
        return _cumulative_sops(lc, self.T)

    def rows(self) -> list[dict]:
        """One dict per latency: t, SOPs, MACs, E_SNN and E_neuro (pJ), E_ANN (pJ)."""
        return [{"t": t + 1, "sops": float(self.sops[t]), "macs": float(self.macs[t]),
                 "energy_pj": float(self.energy_pj[t]), "energy_neuro_pj": float(self.energy_neuro_pj[t]),
                 "ann_energy_pj": self.ann_energy_pj} for t in range(self.T)]


def _cumulative_sops(lc: LayerCount, T: int) -> torch.Tensor:
    """``[T]`` SOPs per sample of one layer up to each latency (zeros for a MAC layer)."""
    if lc.kind == "mac" or lc.samples == 0:
        return torch.zeros(T, dtype=torch.float64)
    return lc.spikes.cumsum(0) * lc.fan_out / lc.samples


def _grow(v: torch.Tensor, T: int) -> torch.Tensor:
    """A copy of ``v`` zero-extended to at least length T (never shortened: other passes may be longer)."""
    return torch.cat([v, v.new_zeros(max(0, T - len(v)))])


class SOPCounter:
    """Context manager counting SOPs and MACs of ``model``'s conv/linear layers over the forward passes inside.

    ``T`` is the number of time steps of each pass (layers reshape their input to ``[T, ...]``).
    ``mac_layers`` names the layers with real-valued input counted as MACs; by default the first conv/linear layer
    that runs. ``report()`` gives per-sample SOPs, MACs and energies at every latency t ≤ T.

        with SOPCounter(model, T=10) as c:
            model(x)
        print(c.report().energy_pj)
    """

    def __init__(self, model: nn.Module, T: int, mac_layers: Optional[Iterable[str]] = None):
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        if isinstance(T, bool) or not isinstance(T, int) or T < 1:
            raise ValueError(f"T: expected an integer >= 1, got {T!r}")
        self.model, self.T = model, T
        self.counts: dict[str, LayerCount] = {}
        named = {name: m for name, m in model.named_modules() if isinstance(m, _COUNTED)}
        if not named:
            raise ValueError("model: has no Conv1d/2d/3d or Linear layer to count")
        self._modules = named
        self._mac = None if mac_layers is None else set(mac_layers)
        if self._mac is not None:
            unknown = self._mac - set(named)
            if unknown:
                raise ValueError(f"mac_layers: {sorted(unknown)} are not conv/linear layers of the model")
        self._handles = []

    def __enter__(self) -> "SOPCounter":
        for name, m in self._modules.items():
            self._handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(module, inputs, output):
            self._count(name, module, inputs[0].detach(), output)
        return hook

    def _count(self, name: str, m: nn.Module, x: torch.Tensor, out: torch.Tensor) -> None:
        lc = self.counts.get(name)
        if lc is None:
            if self._mac is None:
                is_mac = not any(c.kind == "mac" for c in self.counts.values())
            else:
                is_mac = name in self._mac
            lc = self.counts[name] = LayerCount(name, "mac" if is_mac else "sop", _fan_out(m),
                                                spikes=torch.zeros(self.T, dtype=torch.float64))
        dims = _item_dims(m)
        # MACs per sample and step: output elements of one sample times the inputs each one sums.
        lc.macs_per_step = float(math.prod(out.shape[-dims:]) * _fan_in(m))
        if lc.kind == "mac":
            return
        item = math.prod(x.shape[-dims:])
        n_items = x.numel() // item
        if n_items % self.T:
            raise ValueError(f"{name}: input {tuple(x.shape)} holds {n_items} samples-steps, not a multiple of "
                             f"T = {self.T} (expected [T, B, ...] or time-major [T*B, ...])")
        per_step = x.reshape(self.T, -1)
        nz = (per_step != 0).sum(1).to(torch.float64).cpu()
        if lc.binary_input and bool(((per_step != 0) & (per_step != 1)).any()):
            lc.binary_input = False
        lc.spikes += nz
        lc.samples += n_items // self.T

    def report(self) -> EnergyReport:
        layers = list(self.counts.values())
        if not layers:
            raise ValueError("no forward pass was counted: run the model inside the `with SOPCounter(...)` block")
        T = self.T
        sops = sum((_cumulative_sops(lc, T) for lc in layers), torch.zeros(T, dtype=torch.float64))
        steps = torch.arange(1, T + 1, dtype=torch.float64)
        macs = steps * sum(lc.macs_per_step for lc in layers if lc.kind == "mac")
        ann = sum(lc.macs_per_step for lc in layers)
        return EnergyReport(T, layers, sops, macs, float(ann))


class FiringRateMonitor:
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
        if not isinstance(model, nn.Module):
            raise TypeError(f"model: expected an nn.Module, got {type(model).__name__}")
        if layer_types is None:
            from .neuron import LIFSequence
            layer_types = (LIFSequence,)
        self._modules = {name: m for name, m in model.named_modules() if isinstance(m, tuple(layer_types))}
        if not self._modules:
            raise ValueError(f"model: has no spiking layer of type {[t.__name__ for t in layer_types]}")
        self._spikes: dict[str, torch.Tensor] = {}   # [T] spike sums per step
        self._neurons: dict[str, torch.Tensor] = {}  # [T] neuron-samples seen per step
        self._hist: dict[tuple, torch.Tensor] = {}   # (name, T) -> [T+1] neuron-samples with k spikes
        self._handles = []

    def __enter__(self) -> "FiringRateMonitor":
        for name, m in self._modules.items():
            self._handles.append(m.register_forward_hook(self._hook(name)))
        return self

    def __exit__(self, *exc) -> None:
        for h in self._handles:
            h.remove()
        self._handles.clear()

    def _hook(self, name: str):
        def hook(module, inputs, output):
            s = output[0] if isinstance(output, (tuple, list)) else output
            self._record(name, s.detach())
        return hook

    def _record(self, name: str, s: torch.Tensor) -> None:
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
