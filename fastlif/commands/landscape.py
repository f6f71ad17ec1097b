"""``fastlif landscape``: the loss surface around a trained checkpoint along filter-normalised random directions.

1-D: one curve per latency ``-t`` (e.g. ``-t 8 -t 1`` as the SLT paper compares), all along the same direction,
written to ``landscape_1d.csv`` and a line plot ``landscape_1d.png``. 2-D: a grid at the first latency, written to
``landscape_2d.csv`` and a contour plot ``landscape_2d.png``. The loss is the checkpoint's (SDT or TET with its λ)
unless ``--loss`` says otherwise, on the first ``--limit`` test samples.
"""
from __future__ import annotations

import argparse
import csv
import os

import torch

from ..landscape import random_direction, surface_1d, surface_2d
from .run_folder import open_run
from .usage import UsageError, require_positive, set_threads

__all__ = ["add_arguments", "run", "plot_1d", "plot_2d"]


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--checkpoint", required=True, help="checkpoint.pt written by `fastlif train`, or its run folder")
    p.add_argument("--data-root", help="folder holding the dataset files (default: the checkpoint's)")
    p.add_argument("--loss", choices=("tet", "sdt"), help="loss to plot (default: the checkpoint's)")
    p.add_argument("-t", "--latency", dest="latency", type=int, action="append",
                   help="latency t to evaluate at, repeatable (default: the checkpoint's eval T)")
    p.add_argument("--dim", type=int, choices=(1, 2), default=1, help="1-D curve or 2-D surface (default 1)")
    p.add_argument("--span", type=float, default=1.0, help="coordinates run over [-span, span] (default 1)")
    p.add_argument("--steps", type=int, default=21, help="points per axis (default 21)")
    p.add_argument("--limit", type=int, default=512, help="test samples the loss is averaged over (default 512)")
    p.add_argument("--batch-size", type=int, default=128, help="evaluation batch size (default 128)")
    p.add_argument("--seed", type=int, default=0, help="seed of the random directions (default 0)")
    p.add_argument("--device", default="auto", help="auto (default), cpu, cuda, ...")
    p.add_argument("--threads", type=int, help="torch CPU threads")
    p.add_argument("--out", help="folder for the CSV and PNG (default: the checkpoint's folder)")


def plot_1d(alphas, curves: dict, path, title: str = "") -> str:
    """Loss against α, one line per label."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    fig = Figure(figsize=(5, 4))
    ax = fig.add_subplot(1, 1, 1)
    for label, losses in curves.items():
        ax.plot(list(alphas), losses.tolist(), label=label)
    ax.set_xlabel("alpha (filter-normalised direction)")
    ax.set_ylabel("loss")
    ax.legend()
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def plot_2d(alphas, betas, losses, path, title: str = "") -> str:
    """Contour lines of the loss over (α, β)."""
    from matplotlib.figure import Figure  # the object API: no pyplot state, no GUI backend

    fig = Figure(figsize=(5, 4.5))
    ax = fig.add_subplot(1, 1, 1)
    a, b = torch.meshgrid(torch.tensor(list(alphas)), torch.tensor(list(betas)), indexing="ij")
    cs = ax.contour(a.numpy(), b.numpy(), losses.numpy(), levels=20)
    ax.clabel(cs, fontsize=7)
    ax.plot([0], [0], "k+")
    ax.set_xlabel("alpha")
    ax.set_ylabel("beta")
    if title:
        ax.set_title(title)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    return path


def run(args) -> int:
    from ..losses import make_loss
    from ..train.batches import forward_at, iterate

    set_threads(args.threads)
    for name in ("steps", "limit", "batch_size"):
        require_positive(getattr(args, name), f"--{name.replace('_', '-')}")
    if args.span <= 0:
        raise UsageError(f"--span: expected a positive number, got {args.span}")
    try:
        opened = open_run(args.checkpoint, args.device, data_root=args.data_root)
        cfg, bundle, model, device = opened.config, opened.bundle, opened.model, opened.device
        latencies = args.latency or [cfg.eval_latency()]
        loss_name = args.loss or cfg.loss
        loss_fn = make_loss(loss_name, cfg.lam, cfg.phi)
        n = min(args.limit, len(bundle.test))
        batches = [(bundle.prepare(x, False, None), y)
                   for x, y in iterate(bundle.test, list(range(n)), args.batch_size, device)]

        def forward(m, x, t):
            return forward_at(m, x, t, bundle.event)

        # Symmetric grid; with an odd number of steps the middle point is exactly 0 (the trained weights).
        k = args.steps - 1
        coords = [args.span * (2 * i - k) / k for i in range(args.steps)] if k else [0.0]
        i0 = min(range(len(coords)), key=lambda i: abs(coords[i]))  # the point nearest the trained weights
        g = torch.Generator().manual_seed(args.seed)
        d1 = random_direction(model, g)
        out = args.out or opened.folder
        os.makedirs(out, exist_ok=True)
        title = f"{cfg.model}, {loss_name.upper()} loss"
        if args.dim == 1:
            curves = {f"t={t}": surface_1d(model, batches, loss_fn, t, coords, direction=d1, forward=forward)
                      for t in latencies}
            with open(os.path.join(out, "landscape_1d.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["alpha", *(f"loss_{k}" for k in curves), *(f"acc_{k}" for k in curves)])
                for i, a in enumerate(coords):
                    w.writerow([f"{a:.6g}", *(f"{c[0][i]:.8g}" for c in curves.values()),
                                *(f"{c[1][i]:.6f}" for c in curves.values())])
            png = plot_1d(coords, {k: v[0] for k, v in curves.items()}, os.path.join(out, "landscape_1d.png"), title)
            for k, (losses, _) in curves.items():
                print(f"{k}: loss at {coords[i0]:.3g} = {losses[i0]:.4f}, min {losses.min():.4f}, "
                      f"max {losses.max():.4f}")
        else:
            d2 = random_direction(model, g)
            t = latencies[0]
            losses, acc = surface_2d(model, batches, loss_fn, t, coords, coords, directions=(d1, d2), forward=forward)
            with open(os.path.join(out, "landscape_2d.csv"), "w", newline="") as f:
                w = csv.writer(f)
                w.writerow(["alpha", "beta", "loss", "accuracy"])
                for i, a in enumerate(coords):
                    for j, b in enumerate(coords):
                        w.writerow([f"{a:.6g}", f"{b:.6g}", f"{losses[i, j]:.8g}", f"{acc[i, j]:.6f}"])
            png = plot_2d(coords, coords, losses, os.path.join(out, "landscape_2d.png"), f"{title}, t={t}")
            print(f"t={t}: loss at ({coords[i0]:.3g}, {coords[i0]:.3g}) = {losses[i0, i0]:.4f}, min {losses.min():.4f}")
    except (ValueError, TypeError) as e:
        raise UsageError(str(e)) from e
    print(f"wrote {png}")
    return 0
