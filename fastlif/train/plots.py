"""Latency tables: printed, as CSV, and as a PNG of accuracy vs latency (several runs on one plot)."""
from __future__ import annotations

import csv
import os
from typing import Dict, Sequence

Curves = Dict[str, Sequence[float]]  # run label -> accuracy at t = 1..T (fractions)


def _check(curves: Curves) -> None:
    if not curves:
        raise ValueError("curves: expected at least one run")
    for label, acc in curves.items():
        if len(acc) == 0:
            raise ValueError(f"curves[{label!r}]: expected accuracies for t = 1..T, got none")


def format_table(curves: Curves) -> str:
    """A fixed-width table: one row per latency t, one column per run, accuracies in percent."""
    _check(curves)
    labels = list(curves)
    width = max(10, *(len(s) for s in labels))
    rows = [" t  " + "".join(f"{s:>{width + 2}}" for s in labels)]
    for t in range(1, max(len(a) for a in curves.values()) + 1):
        cells = [f"{100 * curves[s][t - 1]:.2f}%" if t <= len(curves[s]) else "-" for s in labels]
        rows.append(f"{t:>2}  " + "".join(f"{c:>{width + 2}}" for c in cells))
    return "\n".join(rows)


def write_latency_csv(curves: Curves, path) -> str:
    """CSV with a column ``t`` and one accuracy column (fraction) per run."""
    _check(curves)
    labels = list(curves)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["t", *labels])
        for t in range(1, max(len(a) for a in curves.values()) + 1):
            w.writerow([t, *(f"{curves[s][t - 1]:.6f}" if t <= len(curves[s]) else "" for s in labels)])
    return path


def plot_latency(curves: Curves, path, title: str = "Accuracy vs inference latency") -> str:
    """PNG of test accuracy (%) against latency t, one line per run; ``path`` is returned."""
    fig = latency_figure(curves, title)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return path


def latency_figure(curves: Curves, title: str = "Accuracy vs inference latency"):
    """The matplotlib Figure ``plot_latency`` saves."""
    _check(curves)
    from matplotlib.figure import Figure  # the object API: no pyplot, no GUI backend, safe in any process

    fig = Figure(figsize=(6, 4), dpi=120)
    ax = fig.add_subplot(1, 1, 1)
    for label, acc in curves.items():
        ax.plot(range(1, len(acc) + 1), [100 * a for a in acc], marker="o", label=label)
    ax.set_xlabel("inference latency t (time steps)")
    from matplotlib.ticker import MaxNLocator
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))  # latencies are whole steps: no t = 2.5 tick
    ax.set_ylabel("test accuracy (%)")
    ax.set_title(title)
    ax.grid(True, alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig
