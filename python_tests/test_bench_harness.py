"""The benchmark harness itself (bench/), on tiny cases: what it writes and how it computes, never how fast.

Needs the peers installed (`pip install --no-deps spikingjelly==2.0.0 loguru snntorch==1.0.0`): the harness
claims they are configured as the same neuron as fastlif, and that claim is tested here.
"""
from __future__ import annotations

import csv
import time

import pytest
import torch
from torch import nn

import fastlif
from bench import kernels, lif_cpu, models, plot, providers, records, run
from bench.timing import Timer

CPU = torch.device("cpu")


def _tiny_rows(provider_names):
    chosen = providers.select(provider_names, CPU)
    case = providers.Case(3, 257, torch.float32, CPU)
    return case, kernels.bench_case(case, chosen, kernels.MODES, Timer(CPU, budget_s=0.01))


def test_rows_have_every_column_and_positive_values():
    case, rows = _tiny_rows(["reference", "snntorch"])
    assert {(r["provider"], r["mode"]) for r in rows} == {
        (p, m) for p in ("reference", "snntorch", *kernels.FLOORS) for m in kernels.MODES}
    for r in rows:
        assert set(kernels.COLUMNS) - {"saved_mib", "peak_mib"} <= set(r)
        for key in ("median_ms", "p20_ms", "p80_ms", "neuron_steps_per_s", "eff_gbps", "copy_gbps", "pct_of_copy",
                    "copy_fresh_gbps", "pct_of_copy_fresh"):
            assert r[key] > 0, (r["provider"], r["mode"], key)
        assert r["p20_ms"] <= r["median_ms"] <= r["p80_ms"]
        assert r["reps"] >= 3
        assert r["machine"] and r["torch"] == torch.__version__
    by = {(r["provider"], r["mode"]): r for r in rows}
    for mode in kernels.MODES:
        ref, snn, copy, fresh = (by[p, mode] for p in ("reference", "snntorch", "copy", "copy-fresh"))
        assert ref["speedup_vs_reference"] == 1.0
        assert snn["speedup_vs_reference"] == pytest.approx(ref["median_ms"] / snn["median_ms"])
        assert ref["speedup_vs_snntorch"] == pytest.approx(snn["median_ms"] / ref["median_ms"])
        assert ref["speedup_vs_spikingjelly"] is None  # not timed in this run
        assert copy["pct_of_copy"] == pytest.approx(100.0)
        assert ref["pct_of_copy"] == pytest.approx(100.0 * copy["median_ms"] / ref["median_ms"])
        assert fresh["pct_of_copy_fresh"] == pytest.approx(100.0)
        assert ref["pct_of_copy_fresh"] == pytest.approx(100.0 * fresh["median_ms"] / ref["median_ms"])
        assert ref["copy_fresh_gbps"] == fresh["eff_gbps"] > 0
    # The reference loop keeps per-step tensors for backward; fp32 T=3, N=257 keeps at least h (3·257·4 bytes).
    assert by["reference", "full"]["saved_mib"] * 2**20 >= 3 * 257 * 4


def test_model_bytes_follow_spec_section_9():
    fp32 = providers.Case(8, 1000, torch.float32, CPU)
    bf16 = providers.Case(8, 1000, torch.bfloat16, CPU)
    assert kernels.model_bytes(fp32, "full") == 24 * 8 * 1000
    assert kernels.model_bytes(bf16, "full") == 12 * 8 * 1000
    assert kernels.model_bytes(fp32, "forward") == kernels.model_bytes(fp32, "backward") == 12 * 8 * 1000
    with pytest.raises(ValueError, match="mode"):
        kernels.model_bytes(fp32, "sideways")


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16])
def test_copy_floors_move_the_model_bytes_into_fresh_arrays_shaped_as_outputs(dtype):
    case = providers.Case(3, 33, dtype, CPU)  # T·N odd: forward's half array rounds down to whole elements
    w = torch.empty((), dtype=dtype).element_size()
    for mode, shapes in [("full", [(3, 33)] * 3), ("forward", [(3, 33), (49,)]), ("backward", [(3, 33), (49,)])]:
        calls = kernels.copy_calls(case, mode)
        assert list(calls) == list(kernels.FLOORS)
        assert calls["copy"]().numel() == kernels.model_bytes(case, mode) // 2
        first, second = calls["copy-fresh"](), calls["copy-fresh"]()
        assert [tuple(t.shape) for t in first] == shapes and all(t.dtype == dtype for t in first)
        assert all(torch.all(t.view(torch.uint8) == 1) for t in first)  # the source's bytes
        assert sum(t.numel() for t in first) == kernels.model_bytes(case, mode) // 2 // w
        # a fresh destination every call, never the source
        assert not {t.data_ptr() for t in first} & {t.data_ptr() for t in second}


def test_lif_cpu_goals_and_bf16_verdicts():
    def full(T, dtype, ms, x_compiled, pct):
        return dict(provider="fastlif-cpu", mode="full", T=T, dtype=dtype, median_ms=ms,
                    speedup_vs_compiled=x_compiled, pct_of_copy=pct, pct_of_copy_fresh=2 * pct)
    rows = [full(1, "fp32", 1.0, 1.6, 30.0), full(8, "fp32", 8.0, 2.6, 40.0), full(8, "bf16", 7.0, 3.0, 25.0),
            full(16, "fp32", 16.0, 1.0, 20.0), full(16, "bf16", 17.0, 0.9, 10.0),
            dict(full(8, "fp32", 1.0, 9.0, 99.0), mode="forward")]
    assert lif_cpu.goal_lines(rows) == [  # T = 32 did not run; the forward row and bf16 rows count for nothing
        "goal: fp32 forward+backward at T=8 >= 2.5x the compiled loop: 2.60x, met",
        "goal: fp32 forward+backward at T=8 >= 50% of the (warm) copy floor: 40.00%, NOT met",
        "goal: fp32 forward+backward at T=8 >= 50% of the fresh copy floor (three clones of [T, N]): 80.00%, met",
        "goal: fp32 forward+backward at T=1 >= 1.5x the compiled loop: 1.60x, met"]
    lines = lif_cpu.bf16_lines(rows)
    assert len(lines) == 2 and lines[0].endswith("no slower") and lines[1].endswith("SLOWER")
    assert lif_cpu.bf16_lines([r for r in rows if r["dtype"] == "fp32"]) == []


def test_saved_bytes_counts_distinct_storages_beyond_the_excluded():
    a = torch.ones(10, requires_grad=True)
    b = torch.ones(10, requires_grad=True)
    assert kernels.saved_bytes(lambda: a * b, [a]) == 10 * 4   # mul keeps both factors; a is excluded
    assert kernels.saved_bytes(lambda: a * b * b, []) == 2 * 10 * 4 + 10 * 4  # a, b once, and the product a·b
    assert kernels.saved_bytes(lambda: a + b, []) == 0  # add keeps nothing


def test_csv_round_trip_keeps_columns(tmp_path):
    _, rows = _tiny_rows(["reference"])
    path = tmp_path / "kernels.csv"
    records.write_rows(path, rows, kernels.COLUMNS)
    with open(path, newline="") as f:
        assert next(csv.reader(f)) == kernels.COLUMNS
    back = records.read_rows(path)
    assert len(back) == len(rows)
    assert all(r["median_ms"] > 0 and r["eff_gbps"] > 0 for r in back)
    assert {r["provider"] for r in back} == {"reference", *kernels.FLOORS}
    assert all(r["pct_of_copy_fresh"] > 0 for r in back)


def test_run_command_writes_csv_notes_and_plots(tmp_path):
    code = run.main(["--parts", "kernels", "--T", "1", "2", "--N", "64", "--providers", "reference",
                     "--budget", "0.01", "--out", str(tmp_path), "--note", "test run"])
    assert code == 0
    rows = records.read_rows(tmp_path / "kernels.csv")
    assert {(r["T"], r["provider"]) for r in rows} == {(T, p) for T in (1, 2) for p in ("reference", *kernels.FLOORS)}
    assert all(r["neuron_steps_per_s"] > 0 and r["N"] == 64 for r in rows)
    notes = (tmp_path / "kernels.md").read_text()
    assert "torch " + torch.__version__ in notes and "note: test run" in notes
    for name in ("throughput_fp32.png", "bandwidth_fp32.png"):
        assert (tmp_path / name).stat().st_size > 1000


def test_timer_quantiles_bracket_a_known_duration():
    timing = Timer(CPU, budget_s=0.02, min_reps=4, max_reps=6).measure(lambda: time.sleep(0.002))
    assert 4 <= timing.reps <= 6
    assert 0.002 <= timing.p20 <= timing.median <= timing.p80
    with pytest.raises(ValueError, match="budget_s"):
        Timer(CPU, budget_s=0)
    with pytest.raises(ValueError, match="min_reps"):
        Timer(CPU, min_reps=5, max_reps=2)


def test_select_logs_skips_and_rejects_unknown_names():
    logged = []
    chosen = providers.select(["reference"], CPU, log=logged.append)
    assert [p.name for p in chosen] == ["reference"]
    with pytest.raises(ValueError, match="unknown provider"):
        providers.select(["reference", "fastlif-gpu"], CPU)
    with pytest.raises(ValueError, match="surrogate"):
        providers.Case(2, 8, torch.float32, CPU, surrogate="triangle")
    if "cpu" not in fastlif.backends():
        providers.select(["fastlif-cpu"], CPU, log=logged.append)
        assert logged and logged[-1].startswith("skip fastlif-cpu:")


@pytest.mark.parametrize("surrogate", providers.SURROGATES)
def test_spikingjelly_provider_is_the_same_neuron(surrogate):
    """Same spikes and gradients as fastlif's reference (inputs are continuous, so SpikingJelly's >= never differs
    from fastlif's strict >)."""
    case = providers.Case(6, 300, torch.float64, CPU, surrogate)
    x = kernels.make_input(case).detach()
    outs = []
    for p in (providers.Reference(), providers.SpikingJelly()):
        xi = x.clone().requires_grad_(True)
        s = p.build(case)(xi)
        s.backward(torch.linspace(-1, 1, s.numel(), dtype=s.dtype).view_as(s))
        outs.append((s.detach(), xi.grad))
    assert outs[0][0].sum() > 0
    assert torch.equal(outs[0][0], outs[1][0].to(outs[0][0].dtype))
    torch.testing.assert_close(outs[1][1].to(torch.float64), outs[0][1], rtol=1e-5, atol=1e-6)


class _TinyNet(nn.Module):
    """The model contract of fastlif.models (``model(x, T) -> [T, B, classes]``) at toy size."""

    def __init__(self, surrogate="triangle"):
        super().__init__()
        self.fc1 = nn.Linear(2 * 4 * 4, 32)
        self.lif = fastlif.LIFSequence(surrogate=surrogate)
        self.fc2 = nn.Linear(32, 10)

    def forward(self, x, T=None):
        return self.fc2(self.lif(self.fc1(x[:T].flatten(2))))


@pytest.mark.parametrize("surrogate", ["triangle", "sigmoid", "atan"])
def test_spikingjelly_neurons_swap_in_without_changing_the_model(surrogate):
    torch.manual_seed(0)
    net = _TinyNet(surrogate).double()
    x = torch.randn(5, 3, 2, 4, 4, dtype=torch.float64) * 3
    grads = []
    for neuron in ("reference", "spikingjelly"):
        swapped, backend = models.with_neurons(net, neuron)
        assert backend == neuron
        out = swapped(x, T=5)
        out.square().sum().backward()
        grads.append((out.detach(), swapped.fc1.weight.grad))
    assert isinstance(net.lif, fastlif.LIFSequence)  # the original is untouched
    torch.testing.assert_close(grads[1][0], grads[0][0])
    torch.testing.assert_close(grads[1][1], grads[0][1], rtol=1e-5, atol=1e-7)
    with pytest.raises(ValueError, match="neuron"):
        models.with_neurons(net, "norse")
    with pytest.raises(ValueError, match="no LIFSequence"):
        models.with_neurons(nn.Linear(2, 2), "reference")


def test_model_rows_and_slt_ratio_are_positive(tmp_path):
    case = models.ModelCase("tiny", T=4, batch=3, input_size=4, in_channels=2, events=True)
    net = _TinyNet()
    row = models.bench_model(case, net, "fastlif", Timer(CPU, budget_s=0.01), CPU)
    assert row["samples_per_s"] > 0 and row["median_ms"] > 0 and row["backend"] in fastlif.backends()
    assert row["saved_mib"] * 2**20 >= 4 * 3 * 32 * 4  # at least the neurons' membrane h: T·B·32 fp32 values
    assert row["peak_mib"] is None or row["peak_mib"] >= 0
    ratio = models.slt_epoch_ratio(case, net, CPU, batches=3)
    assert ratio > 0
    with pytest.raises(ValueError, match="batches"):
        models.slt_epoch_ratio(case, net, CPU, batches=0)
    records.write_rows(tmp_path / "models.csv", [row], models.COLUMNS)
    assert plot.plot_folder(tmp_path) == [tmp_path / "models.png"]
