"""``fastlif energy``: accuracy, synaptic operations and energy of a trained checkpoint at every latency t.

One forward pass of T steps over the test set gives, for every t = 1..T, the accuracy of the running-mean readout,
the SOPs per sample (input spikes × fan-out, SPEC §8), the MACs of the real-valued layers (the first layer, or
those the model's ``real_valued_layers()`` names), E_SNN = 4.6 pJ·MAC + 0.9 pJ·SOP,
E_neuro = 77 fJ·SOP, next to the equivalent ANN's 4.6 pJ·MAC, and the firing rates of the spiking layers.
Writes ``energy.csv``, ``firing_rates.csv`` and ``energy.png`` (accuracy against energy, SOPs against t) to
``--out``.
"""
from __future__ import annotations

import argparse
import contextlib
import csv
import os

import torch

from ..energy import FiringRateMonitor, SOPCounter
from .run_folder import open_run
from .usage import UsageError, parse_key_values, require_positive, set_threads

__all__ = ["add_arguments", "run", "measure", "format_energy_table", "write_energy_csv", "write_rates_csv",
           "plot_energy"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt written by `fastlif train`, or its run folder")
    p.add_argument("--data", help="dataset name (default: the checkpoint's)")
    p.add_argument("--data-root", help="folder holding the dataset files (default: the checkpoint's)")
    p.add_argument("--data-arg", action="append", metavar="KEY=VALUE", help="extra dataset option, repeatable")
    p.add_argument("-T", "--T", dest="T", type=int, help="largest latency (default: the checkpoint's eval T)")
    p.add_argument("--batch-size", type=int, default=64, help="test batch size (default 64)")
    p.add_argument("--limit", type=int, help="use only the first LIMIT test samples")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, ...")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--out", help="folder for energy.csv and energy.png (default: the checkpoint's folder)")


@torch.no_grad()
def measure(model, bundle, T: int, device, batch_size: int = 64, limit=None):
    """``(accuracy [T], EnergyReport, FiringRateMonitor or None)`` of ``model`` on ``bundle.test``."""
    from ..train.batches import forward_at, iterate
    from ..train.evaluate import correct_per_latency

    n = len(bundle.test) if limit is None else min(limit, len(bundle.test))
    if n < 1:
        raise ValueError("limit: no test samples to measure")
    from ..neuron import LIFSequence

    model.eval()
    correct = torch.zeros(T, dtype=torch.float64)
    with contextlib.ExitStack() as stack:
        # Models that know which of their layers see real values, not spikes (the window SNN: stem, MLPs, patch
        # merging, head), say so; the rest get the default: the first layer is the real-valued one.
        mac_layers = getattr(model, "real_valued_layers", lambda: None)()
        counter = stack.enter_context(SOPCounter(model, T, mac_layers=mac_layers))
        spiking = any(isinstance(m, LIFSequence) for m in model.modules())
        monitor = stack.enter_context(FiringRateMonitor(model)) if spiking else None
        for x, y in iterate(bundle.test, list(range(n)), batch_size, device):
            O = forward_at(model, bundle.prepare(x, False, None), T, bundle.event)
            correct += correct_per_latency(O, y).to(torch.float64).cpu()
    return correct / n, counter.report(), monitor


def format_energy_table(accuracy, report) -> str:
    """One row per latency: accuracy, SOPs, MACs, E_SNN and E_neuro (µJ); the ANN energy in the header."""
    lines = [f"equivalent ANN: {report.ann_macs:.4g} MACs, {report.ann_energy_pj / 1e6:.4g} uJ per sample",
             f"{'t':>3} {'accuracy':>9} {'SOPs':>11} {'MACs':>11} {'E_SNN uJ':>10} {'E_neuro uJ':>11}"]
    for row, acc in zip(report.rows(), accuracy.tolist()):
        lines.append(f"{row['t']:>3} {100 * acc:>8.2f}% {row['sops']:>11.4g} {row['macs']:>11.4g} "
                     f"{row['energy_pj'] / 1e6:>10.4g} {row['energy_neuro_pj'] / 1e6:>11.4g}")
    return "\n".join(lines)


def write_energy_csv(accuracy, report, path) -> str:
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", "accuracy", "sops", "macs", "energy_pj", "energy_neuro_pj", "ann_energy_pj"])
        for row, acc in zip(report.rows(), accuracy.tolist()):
            w.writerow([row["t"], f"{acc:.6f}", f"{row['sops']:.10g}", f"{row['macs']:.10g}",
                        f"{row['energy_pj']:.10g}", f"{row['energy_neuro_pj']:.10g}", f"{row['ann_energy_pj']:.10g}"])
    return path


def write_rates_csv(monitor, path) -> str:
    """One row per spiking layer: its mean firing rate, then the rate at each step t = 1..T."""
    rates, means = monitor.rates(), monitor.mean_rates()
    T = max(len(r) for r in rates.values())
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["layer", "mean", *(f"t{t}" for t in range(1, T + 1))])
        for name, r in rates.items():
            w.writerow([name, f"{means[name]:.6f}", *(f"{v:.6f}" for v in r.tolist())])
    return path


def plot_energy(accuracy, report, path, title: str = "") -> str:
    """Left: accuracy against E_SNN per latency (the ANN's energy as a vertical line); right: SOPs against t."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    t = list(range(1, report.T + 1))
    fig = Figure(figsize=(10, 4))
    a, b = fig.subplots(1, 2)
    energy_uj = (report.energy_pj / 1e6).tolist()
    a.plot(energy_uj, (100 * accuracy).tolist(), "o-", label="SNN (t = 1..T)")
    for ti, e, acc in zip(t, energy_uj, (100 * accuracy).tolist()):
        a.annotate(str(ti), (e, acc), textcoords="offset points", xytext=(3, 3), fontsize=8)
    a.axvline(report.ann_energy_pj / 1e6, color="gray", linestyle="--", label="ANN (MACs)")
    a.set_xlabel("energy per sample (uJ, 4.6 pJ/MAC + 0.9 pJ/SOP)")
    a.set_ylabel("test accuracy (%)")
    a.legend()
    b.plot(t, report.sops.tolist(), "o-")
    b.set_xlabel("latency t")
    b.set_ylabel("SOPs per sample")
    if title:
        fig.suptitle(title)
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path, dpi=120)
    return path


def run(args) -> int:
    set_threads(args.threads)
    require_positive(args.batch_size, "--batch-size")
    require_positive(args.T, "-T")
    try:
        opened = open_run(args.checkpoint, args.device, args.data, args.data_root, parse_key_values(args.data_arg))
        T = args.T if args.T is not None else opened.config.eval_latency()
        accuracy, report, monitor = measure(opened.model, opened.bundle, T, opened.device, args.batch_size,
                                            args.limit)
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from e
    print(format_energy_table(accuracy, report))
    out = args.out or opened.folder
    csv_path = write_energy_csv(accuracy, report, os.path.join(out, "energy.csv"))
    if monitor is not None:
        rates = monitor.mean_rates()
        print(f"mean firing rate over {len(rates)} spiking layers: {sum(rates.values()) / len(rates):.4f} "
              f"(lowest {min(rates.values()):.4f}, highest {max(rates.values()):.4f})")
        write_rates_csv(monitor, os.path.join(out, "firing_rates.csv"))
    png = plot_energy(accuracy, report, os.path.join(out, "energy.png"),
                      title=f"{opened.config.model} on {args.data or opened.config.data}")
    print(f"wrote {csv_path} and {png}")
    return 0
