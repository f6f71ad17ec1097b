"""Latency plots (fastlif/train/plots.py): what a reader of latency.png sees."""
import pytest

from fastlif.train.plots import latency_figure, plot_latency


@pytest.mark.parametrize("T", [2, 3, 4, 6])
def test_latency_ticks_are_whole_steps(T):
    """At T = 4 matplotlib's default locator put ticks at t = 1.5, 2.5, ...: latencies are whole steps."""
    ax = latency_figure({"run": [0.1 * t for t in range(1, T + 1)]}).axes[0]
    lo, hi = ax.get_xlim()
    ticks = [t for t in ax.get_xticks() if lo <= t <= hi]
    assert ticks and all(float(t).is_integer() for t in ticks), ticks


def test_plot_latency_writes_the_png(tmp_path):
    path = plot_latency({"a": [0.5, 0.6, 0.7, 0.8]}, tmp_path / "sub" / "latency.png")
    assert (tmp_path / "sub" / "latency.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert str(path).endswith("latency.png")
