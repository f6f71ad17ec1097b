"""``fastlif demo``: the seed statistics, the table, the figure's axis range, the kernel timing line and its
torch.compile guard on known values, and the whole demo end to end on a tiny budget."""
import csv
import math
import subprocess

import pytest
import torch

from fastlif import models
from fastlif.commands import demo, lif_speed
from fastlif.commands import main as cli
from fastlif.commands.demo_report import (MIN_SPAN_IMAGES, MethodRuns, accuracy_range, format_table, mean_std,
                                          write_csv)
from fastlif.config import LifConfig

pytestmark = pytest.mark.usefixtures("keep_threads")


def runs(label, accuracies, seconds, mean_t):
    m = MethodRuns(label)
    for seed, (acc, s, t) in enumerate(zip(accuracies, seconds, mean_t)):
        m.add(seed, acc, s, t)
    return m


def test_mean_std_is_the_sample_std():
    assert mean_std([1.0, 2.0, 3.0, 4.0]) == pytest.approx((2.5, math.sqrt(5 / 3)))
    m, s = mean_std([0.7])
    assert m == 0.7 and math.isnan(s)  # one seed says nothing about the spread
    with pytest.raises(ValueError, match="values"):
        mean_std([])


def test_method_runs_aggregate_per_latency():
    m = runs("TET T=2", [[0.8, 0.9], [0.6, 0.7]], [2.0, 4.0], [2.0, 2.0])
    (m1, s1), (m2, s2) = m.accuracy_stats()
    assert (m1, m2) == pytest.approx((0.7, 0.8)) and (s1, s2) == pytest.approx((math.sqrt(0.02),) * 2)
    with pytest.raises(ValueError, match="seed 2 of 'TET T=2' has 3 latencies"):
        m.add(2, [0.1, 0.2, 0.3], 1.0, 2.0)


def table_cells(text):
    return {line.split()[0]: line.split()[1:] for line in text.splitlines()[2:]}


def test_table_shows_mean_std_difference_and_speed():
    fixed = runs("TET T=2", [[0.80, 0.90], [0.60, 0.70]], [3.0, 5.0], [2.0, 2.0])
    slt = runs("SLT-TET T=2", [[0.75, 0.95], [0.75, 0.85]], [2.0, 2.0], [1.5, 1.4])
    text = format_table([fixed, slt], n_test=400)
    assert "mean ± std over 2 seeds (400 test images: one image is 0.25 points)" in text
    rows = table_cells(text)
    assert rows["1"] == ["70.00", "±", "14.14", "75.00", "±", "0.00", "+5.00"]
    assert rows["2"] == ["80.00", "±", "14.14", "90.00", "±", "7.07", "+10.00"]
    assert "4.00 ± 1.41" in text and "2.00x faster" in text
    assert text.splitlines()[-1].split()[-2:] == ["2.00", "1.45"]  # mean trained latency


def test_table_with_one_seed_says_the_spread_is_unknown():
    text = format_table([runs("TET T=1", [[0.5]], [1.0], [1.0])], n_test=10)
    assert table_cells(text)["1"] == ["50.00", "±", "n/a"] and "-" not in table_cells(text)["1"]
    with pytest.raises(ValueError, match="methods"):
        format_table([], 10)


def test_accuracy_axis_spans_at_least_twenty_images_and_covers_every_seed():
    close = runs("TET T=2", [[0.990, 0.993], [0.991, 0.994]], [1.0, 1.0], [2.0, 2.0])
    lo, hi = accuracy_range([close], n_test=400)
    assert hi - lo == pytest.approx(MIN_SPAN_IMAGES * 100 / 400) and hi == 100.0  # clamped at 100 %
    assert lo <= 99.0 and hi >= 99.4
    wide = runs("TET T=2", [[0.50, 0.90], [0.60, 0.70]], [1.0, 1.0], [2.0, 2.0])
    lo, hi = accuracy_range([wide], n_test=400)
    assert lo <= 50.0 - 0.5 and hi >= 90.0 + 0.5  # two images of margin beyond the extremes


def test_csv_holds_every_seed_and_latency(tmp_path):
    path = write_csv([runs("TET T=2", [[0.8, 0.9], [0.6, 0.7]], [3.0, 5.0], [2.0, 2.0])], tmp_path / "a" / "d.csv")
    with open(path) as f:
        rows = list(csv.DictReader(f))
    assert [(r["seed"], r["t"], float(r["accuracy"])) for r in rows] == [
        ("0", "1", 0.8), ("0", "2", 0.9), ("1", "1", 0.6), ("1", "2", 0.7)]
    assert {r["epoch_seconds"] for r in rows} == {"3.0000", "5.0000"}


def test_lif_layers_are_the_models_own_shapes_and_leave_it_untouched():
    net = models.get("digits_cnn", in_channels=2, input_size=12, T=3)
    net.train()
    x = torch.rand(5, 3, 2, 12, 12)  # an event batch [B, T0, C, H, W]
    before = {k: v.clone() for k, v in net.state_dict().items()}
    layers = lif_speed.model_lif_layers(net, x, T=3, event=True)
    assert [l.shape for l in layers] == [(3, 5, 32, 12, 12), (3, 5, 64, 12, 12)]
    assert all(torch.equal(before[k], v) for k, v in net.state_dict().items())  # BN statistics unchanged


def test_median_times_interleaves_within_the_repetition_bounds():
    calls = []
    fns = [lambda: calls.append("a"), lambda: calls.append("b")]
    lif_speed.median_times(fns, torch.device("cpu"), budget_s=10.0, min_reps=2, max_reps=4)
    assert calls == ["a", "b"] + ["a", "b"] * 4  # one warm-up each, then rounds of both
    with pytest.raises(ValueError, match="budget_s"):
        lif_speed.median_times(fns, torch.device("cpu"), budget_s=0)


LAYERS = [lif_speed.LifLayer((2, 3, 4), LifConfig.make())]


def test_compile_guard_skips_at_zero_budget_and_kills_a_slow_child(monkeypatch):
    secs, why = lif_speed.compiled_reference_seconds(LAYERS, torch.device("cpu"), 0)
    assert secs is None and why == "skipped (--compile-budget 0)"
    secs, why = lif_speed.compiled_reference_seconds(LAYERS, torch.device("cpu"), 0.01)  # cannot even start
    assert secs is None and "did not compile and run within 0.01 s" in why


@pytest.mark.parametrize("stdout, stderr, expected", [
    (b"noise\nCOMPILED_SECONDS 0.25\n", b"", (0.25, None)),
    (b"", b"Traceback\n  ...\nRuntimeError: no C++ compiler\n\n",
     (None, "skipped: torch.compile failed (RuntimeError: no C++ compiler)")),
])
def test_compile_guard_reads_the_childs_answer(monkeypatch, stdout, stderr, expected):
    monkeypatch.setattr(lif_speed.subprocess, "run",
                        lambda *a, **k: subprocess.CompletedProcess(a, 0 if stdout else 1, stdout, stderr))
    assert lif_speed.compiled_reference_seconds(LAYERS, torch.device("cpu"), 5) == expected


def test_measure_compares_the_fused_kernel_with_the_loop():
    speed = lif_speed.measure(LAYERS * 2, torch.device("cpu"), compile_budget_s=0, budget_s=0.01)
    assert speed.fused_backend == "cpu" and speed.fused_s > 0 and speed.reference_s > 0
    assert speed.compiled_s is None and "--compile-budget 0" in speed.compiled_skipped
    with pytest.raises(ValueError, match="resolves to 'reference'"):
        lif_speed.measure(LAYERS, torch.device("cpu"), fused_backend="reference")


def test_speed_line_reports_ratios():
    speed = lif_speed.LifSpeed(LAYERS, "cpu", 0.002, 0.010, 0.004, None)
    text = lif_speed.format_speed(speed)
    assert "[2, 3, 4]" in text and "2.00 ms" in text and "fused is 5.0x faster" in text
    assert "fused is 2.0x faster" in text.splitlines()[-1]
    skipped = lif_speed.format_speed(lif_speed.LifSpeed(LAYERS, "cpu", 0.002, 0.010, None, "skipped: why"))
    assert skipped.splitlines()[-1].endswith("torch.compile(loop): skipped: why")


def test_demo_end_to_end_on_a_tiny_budget(tmp_path, capsys, monkeypatch):
    monkeypatch.setitem(demo.DEMO_DATA, "digits", lambda T: {"train_limit": 64, "test_limit": 40})
    rc = cli.main(["demo", "--data", "digits", "--epochs", "1", "-T", "2", "--seeds", "2", "--batch-size", "32",
                   "--out", str(tmp_path), "--no-progress", "--compile-budget", "0"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "mean ± std over 2 seeds (40 test images: one image is 2.50 points)" in printed
    assert "fused cpu kernel" in printed and "reference loop" in printed and "skipped (--compile-budget 0)" in printed
    with open(tmp_path / "demo.csv") as f:
        rows = list(csv.DictReader(f))
    assert len(rows) == 2 * 2 * 2  # methods x seeds x latencies
    for label in ("TET T=2", "SLT-TET T=2"):  # the printed mean is the CSV's mean over seeds
        mean = 100 * sum(float(r["accuracy"]) for r in rows if r["method"] == label and r["t"] == "2") / 2
        row = next(line for line in printed.splitlines() if line.split()[:1] == ["2"])
        col = ["TET T=2", "SLT-TET T=2"].index(label)
        assert float(row.split()[1 + 3 * col]) == pytest.approx(mean, abs=0.006)
    assert (tmp_path / "demo.png").stat().st_size > 1000


@pytest.mark.parametrize("argv, message", [
    (["--seeds", "0"], "seeds: expected an integer >= 1"),
    (["--compile-budget", "-1"], "compile_budget: expected seconds >= 0"),
    (["-T", "0"], "T: expected an integer >= 1"),
])
def test_bad_demo_options_exit_2(argv, message, tmp_path, capsys):
    assert cli.main(["demo", *argv, "--out", str(tmp_path)]) == 2
    assert message in capsys.readouterr().err
