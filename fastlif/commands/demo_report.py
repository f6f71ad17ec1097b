"""The demo's numbers over seeds: mean ± std accuracy at every latency and seconds per epoch, as a table, a CSV and a
two-panel figure (accuracy vs latency with error bands; training time per epoch)."""
from __future__ import annotations

import csv
import math
import os
import textwrap
from dataclasses import dataclass, field
from typing import List, Sequence, Tuple

# The accuracy axis spans at least this many test images, so that one image is a small step on it, not a zigzag.
MIN_SPAN_IMAGES = 20


@dataclass
class MethodRuns:
    """One method's runs, one entry per seed: test accuracy at t = 1..T (fractions), mean training seconds per
    epoch, and the mean latency it trained at."""
    label: str
    seeds: List[int] = field(default_factory=list)
    accuracy: List[List[float]] = field(default_factory=list)
    epoch_seconds: List[float] = field(default_factory=list)
    mean_t: List[float] = field(default_factory=list)

    def add(self, seed: int, accuracy: Sequence[float], epoch_seconds: float, mean_t: float) -> None:
        if self.accuracy and len(accuracy) != len(self.accuracy[0]):
            raise ValueError(f"accuracy: seed {seed} of {self.label!r} has {len(accuracy)} latencies, the earlier "
                             f"seeds {len(self.accuracy[0])}")
        self.seeds.append(seed)
        self.accuracy.append(list(accuracy))
        self.epoch_seconds.append(epoch_seconds)
        self.mean_t.append(mean_t)

    def accuracy_stats(self) -> List[Tuple[float, float]]:
        """(mean, std) over seeds at each latency t = 1..T."""
        return [mean_std(column) for column in zip(*self.accuracy)]


def mean_std(values: Sequence[float]) -> Tuple[float, float]:
    """Mean and sample standard deviation (n − 1 in the denominator: the seeds are a sample of all seeds); the
    spread of a single value is unknown, so its std is NaN."""
    values = list(values)
    if not values:
        raise ValueError("values: expected at least one value")
    m = sum(values) / len(values)
    if len(values) == 1:
        return m, math.nan
    return m, math.sqrt(sum((v - m) ** 2 for v in values) / (len(values) - 1))


def _pm(mean: float, std: float, digits: int = 2) -> str:
    return f"{mean:.{digits}f} ± " + ("n/a" if math.isnan(std) else f"{std:.{digits}f}")


def _check(methods: Sequence[MethodRuns]) -> None:
    if not methods:
        raise ValueError("methods: expected at least one method")
    for m in methods:
        if not m.accuracy:
            raise ValueError(f"methods: {m.label!r} has no run")


def format_table(methods: Sequence[MethodRuns], n_test: int) -> str:
    """Accuracy (%) as mean ± std per latency and method, the difference of the last method to the first when there
    are two, then seconds per epoch and mean trained latency."""
    _check(methods)
    n_seeds = sorted({len(m.accuracy) for m in methods})
    width = max(16, *(len(m.label) for m in methods))
    pair = len(methods) == 2
    lines = [f"Test accuracy (%) at inference latency t, mean ± std over {'/'.join(map(str, n_seeds))} seeds "
             f"({n_test} test images: one image is {100 / n_test:.2f} points)",
             f"{'t':>15}" + "".join(f"{m.label:>{width + 2}}" for m in methods)
             + (f"{methods[1].label.split(' ')[0] + ' - ' + methods[0].label.split(' ')[0]:>{width + 2}}"
                if pair else "")]
    stats = [m.accuracy_stats() for m in methods]
    for t in range(max(len(s) for s in stats)):
        cells = [_pm(100 * s[t][0], 100 * s[t][1]) if t < len(s) else "-" for s in stats]
        if pair and t < min(len(s) for s in stats):
            cells.append(f"{100 * (stats[1][t][0] - stats[0][t][0]):+.2f}")
        lines.append(f"{t + 1:>15}" + "".join(f"{c:>{width + 2}}" for c in cells))
    secs = [mean_std(m.epoch_seconds) for m in methods]
    cells = [_pm(*s) for s in secs]
    if pair:
        cells.append(f"{secs[0][0] / secs[1][0]:.2f}x faster" if secs[1][0] > 0 else "-")
    lines.append(f"{'s/epoch':>15}" + "".join(f"{c:>{width + 2}}" for c in cells))
    lines.append(f"{'mean trained t':>15}" + "".join(f"{mean_std(m.mean_t)[0]:>{width + 2}.2f}" for m in methods))
    return "\n".join(lines)


def write_csv(methods: Sequence[MethodRuns], path) -> str:
    """Long format: one row per method, seed and latency t, with that run's seconds per epoch and mean trained t."""
    _check(methods)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["method", "seed", "t", "accuracy", "epoch_seconds", "mean_trained_t"])
        for m in methods:
            for seed, acc, secs, mt in zip(m.seeds, m.accuracy, m.epoch_seconds, m.mean_t):
                for t, a in enumerate(acc, 1):
                    w.writerow([m.label, seed, t, f"{a:.6f}", f"{secs:.4f}", f"{mt:.4f}"])
    return path


def accuracy_range(methods: Sequence[MethodRuns], n_test: int) -> Tuple[float, float]:
    """Y limits (%) covering every seed's accuracy and every mean ± std, with two images of margin, widened about
    the middle to at least MIN_SPAN_IMAGES test images and kept within [0, 100]."""
    _check(methods)
    step = 100.0 / n_test
    values = [100 * a for m in methods for acc in m.accuracy for a in acc]
    for m in methods:
        for mean, std in m.accuracy_stats():
            s = 0.0 if math.isnan(std) else std
            values += [100 * (mean - s), 100 * (mean + s)]
    lo, hi = min(values) - 2 * step, max(values) + 2 * step
    span = max(hi - lo, MIN_SPAN_IMAGES * step)
    mid = (lo + hi) / 2
    lo, hi = mid - span / 2, mid + span / 2
    if lo < 0:
        lo, hi = 0.0, min(100.0, hi - lo)
    if hi > 100:
        lo, hi = max(0.0, lo - (hi - 100)), 100.0
    return lo, hi


def plot(methods: Sequence[MethodRuns], n_test: int, path, title: str) -> str:
    """PNG: left, accuracy vs latency (mean line, ±std band, each seed faint) with a one-test-image scale bar;
    right, seconds per training epoch (mean, ±std over seeds). ``path`` is returned."""
    _check(methods)
    from matplotlib.figure import Figure  # the object API: no pyplot, no GUI backend, safe in any process

    fig = Figure(figsize=(10, 4.2), dpi=120)
    ax, bx = fig.add_subplot(1, 2, 1), fig.add_subplot(1, 2, 2)
    colors = ["tab:blue", "tab:orange", "tab:green", "tab:red"]
    for i, m in enumerate(methods):
        c = colors[i % len(colors)]
        stats = m.accuracy_stats()
        ts = list(range(1, len(stats) + 1))
        mean = [100 * s[0] for s in stats]
        std = [0.0 if math.isnan(s[1]) else 100 * s[1] for s in stats]
        for acc in m.accuracy:
            ax.plot(ts, [100 * a for a in acc], color=c, alpha=0.25, lw=0.8)
        ax.plot(ts, mean, color=c, marker="o", label=f"{m.label} (n={len(m.accuracy)})")
        ax.fill_between(ts, [a - s for a, s in zip(mean, std)], [a + s for a, s in zip(mean, std)], color=c,
                        alpha=0.2)
    lo, hi = accuracy_range(methods, n_test)
    ax.set_ylim(lo, hi)
    step = 100.0 / n_test
    x_bar = max(len(m.accuracy[0]) for m in methods) + 0.3
    ax.plot([x_bar, x_bar], [lo + step, lo + 2 * step], color="black", lw=3)
    ax.annotate("1 test image", (x_bar, lo + 1.5 * step), xytext=(-6, 0), textcoords="offset points",
                ha="right", va="center", fontsize=8)
    ax.set_xticks(range(1, max(len(m.accuracy[0]) for m in methods) + 1))
    ax.set_xlabel("inference latency t (time steps)")
    ax.set_ylabel("test accuracy (%)")
    ax.set_title("accuracy vs latency (mean ± std over seeds; faint: each seed)", fontsize=9)
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="upper left")  # accuracy rises with t: that corner stays free

    secs = [mean_std(m.epoch_seconds) for m in methods]
    bx.bar(range(len(methods)), [s[0] for s in secs],
           yerr=[0.0 if math.isnan(s[1]) else s[1] for s in secs], capsize=6,
           color=[colors[i % len(colors)] for i in range(len(methods))], alpha=0.8)
    for i, (m, s) in enumerate(zip(methods, secs)):
        top = s[0] + (0.0 if math.isnan(s[1]) else s[1])
        bx.annotate(f"{s[0]:.2f} s\nmean t {mean_std(m.mean_t)[0]:.1f}", (i, top), xytext=(0, 4),
                    textcoords="offset points", ha="center", va="bottom", fontsize=8)
    bx.set_xticks(range(len(methods)), [m.label for m in methods])
    bx.set_ylabel("training time per epoch (s)")
    bx.set_ylim(0, 1.25 * max(s[0] + (0.0 if math.isnan(s[1]) else s[1]) for s in secs) or 1.0)
    bx.set_title("training time per epoch (mean ± std over seeds)", fontsize=9)
    bx.grid(True, axis="y", alpha=0.3)
    fig.suptitle("\n".join(textwrap.wrap(title, 110)), fontsize=10)  # a long machine name would be clipped
    fig.tight_layout()
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    fig.savefig(path)
    return path
