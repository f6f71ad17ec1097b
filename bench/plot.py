"""Plots of a results folder (kernels.csv, models.csv) as PNGs beside them:

- ``throughput_<dtype>.png``: neuron-steps/s against T, one line per provider, one panel per (mode, N);
- ``bandwidth_<dtype>.png``: effective bandwidth as % of the warm device copy against T, same panels; the
  copy-fresh floor (copies into freshly allocated outputs) is drawn dashed beside the copy's 100 %;
- ``models.png``: training samples/s per model configuration and neuron implementation.

Each figure's title names the machine, the torch/triton versions and the dtype.

    python -m bench.plot bench/results/<machine>
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import matplotlib

matplotlib.use("Agg")  # files only; no display on benchmark machines
import matplotlib.pyplot as plt  # noqa: E402

from bench.records import read_rows  # noqa: E402


def _title(row: dict, what: str) -> str:
    return (f"{what}\n{row['machine']}: {row['device_name']}\n"
            f"torch {row['torch']}, triton {row['triton'] or '-'}, fastlif {row['fastlif']}")


def _panels(rows: list[dict], metric: str, ylabel: str, log_y: bool, path: Path, what: str) -> Path:
    modes = [m for m in ("forward", "backward", "full") if any(r["mode"] == m for r in rows)]
    sizes = sorted({r["N"] for r in rows})
    size = (max(7.0, 5.5 * len(sizes)), 3.6 * len(modes) + 0.6)
    fig, axes = plt.subplots(len(modes), len(sizes), figsize=size, squeeze=False)
    for i, mode in enumerate(modes):
        for j, N in enumerate(sizes):
            ax = axes[i][j]
            panel = [r for r in rows if r["mode"] == mode and r["N"] == N]
            for provider in dict.fromkeys(r["provider"] for r in panel):
                pts = sorted((r["T"], r[metric]) for r in panel if r["provider"] == provider and r[metric] is not None)
                if pts:
                    style = "--" if provider.startswith("copy") else "-"  # the floors: copy, copy-fresh
                    ax.plot(*zip(*pts), style, marker="o", ms=3, label=provider)
            ax.set_xscale("log", base=2)
            if log_y:
                ax.set_yscale("log")
            ax.set_title(f"{mode}, N = {N:,}", fontsize=9)
            ax.set_xlabel("T (time steps)")
            ax.set_ylabel(ylabel)
            ax.grid(alpha=0.3)
    axes[0][-1].legend(fontsize=7, loc="best")
    fig.suptitle(_title(rows[0], what), fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_kernels(csv_path: Path) -> list[Path]:
    rows = read_rows(csv_path)
    written = []
    for dtype in dict.fromkeys(r["dtype"] for r in rows):
        sub = [r for r in rows if r["dtype"] == dtype]
        written.append(_panels(sub, "neuron_steps_per_s", "neuron-steps / s", True,
                               csv_path.parent / f"throughput_{dtype}.png", f"LIF throughput, {dtype}"))
        written.append(_panels(sub, "pct_of_copy", "% of copy bandwidth (SPEC §9 bytes)", True,
                               csv_path.parent / f"bandwidth_{dtype}.png", f"LIF effective bandwidth, {dtype}"))
    return written


def plot_models(csv_path: Path) -> list[Path]:
    rows = [r for r in read_rows(csv_path) if r["samples_per_s"] is not None]
    if not rows:
        return []
    configs = list(dict.fromkeys((r["model"], r["T"], r["batch"], r["input_size"]) for r in rows))
    for r in rows:  # name fastlif's neurons by the backend they ran ("fastlif-cpu", "fastlif-cuda")
        if r["neuron"] == "fastlif" and r["backend"]:
            r["neuron"] = f"fastlif-{r['backend']}"
    neurons = list(dict.fromkeys(r["neuron"] for r in rows))
    width = 0.8 / len(neurons)
    fig, ax = plt.subplots(figsize=(max(6.0, 2.2 + 2.0 * len(configs)), 4.5))
    for k, neuron in enumerate(neurons):
        values = [next((r["samples_per_s"] for r in rows if r["neuron"] == neuron
                        and (r["model"], r["T"], r["batch"], r["input_size"]) == c), 0) for c in configs]
        ax.bar([i + k * width for i in range(len(configs))], values, width, label=neuron)
    ax.set_xticks([i + width * (len(neurons) - 1) / 2 for i in range(len(configs))],
                  [f"{m}\nT={T} B={B} {s}px" for m, T, B, s in configs], fontsize=8)
    ax.set_ylabel("training samples / s")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.suptitle(_title(rows[0], "Training-step throughput, fp32"), fontsize=10)
    fig.tight_layout()
    path = csv_path.parent / "models.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_memory(csv_path: Path) -> list[Path]:
    """Two panels per model: MiB kept for backward (parameters included, as the issue counts) and step time."""
    rows = read_rows(csv_path)
    if not rows:
        return []
    models = list(dict.fromkeys(r["model"] for r in rows))
    variants = list(dict.fromkeys(r["variant"] for r in rows))
    width = 0.8 / len(variants)
    fig, axes = plt.subplots(1, 2, figsize=(max(8.0, 3.0 + 3.0 * len(models)), 4.5))
    for ax, metric, label in ((axes[0], "saved_with_params_mib", "MiB kept for backward (with parameters)"),
                              (axes[1], "median_ms", "training step, ms (median)")):
        for k, variant in enumerate(variants):
            values = [next((r[metric] or 0 for r in rows if r["model"] == m and r["variant"] == variant), 0)
                      for m in models]
            ax.bar([i + k * width for i in range(len(models))], values, width, label=variant)
        ax.set_xticks([i + width * (len(variants) - 1) / 2 for i in range(len(models))], models, fontsize=8)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    axes[0].legend(fontsize=8)
    r0 = rows[0]
    fig.suptitle(_title(r0, f"Training memory, fp32, T={r0['T']} batch {r0['batch']}"), fontsize=10)
    fig.tight_layout()
    path = csv_path.parent / "memory.png"
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return [path]


def plot_folder(folder: Path) -> list[Path]:
    """Every plot the CSV files in ``folder`` allow; returns the paths written."""
    written = []
    if (folder / "kernels.csv").exists():
        written += plot_kernels(folder / "kernels.csv")
    if (folder / "models.csv").exists():
        written += plot_models(folder / "models.csv")
    if (folder / "memory.csv").exists():
        written += plot_memory(folder / "memory.csv")
    return written


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m bench.plot", description="Plot a bench results folder.")
    ap.add_argument("folder", type=Path)
    args = ap.parse_args(argv)
    if not args.folder.is_dir():
        ap.error(f"{args.folder} is not a folder")
    paths = plot_folder(args.folder)
    if not paths:
        print(f"no kernels.csv or models.csv in {args.folder}")
        return 1
    for p in paths:
        print(f"wrote {p}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
