"""The ``fastlif`` command end to end on a tiny budget, and clear errors with exit status 2 on bad input."""
import csv
import subprocess
import sys

import pytest

from fastlif.commands import main as cli

TINY = ["--data-arg", "train_limit=64", "--data-arg", "test_limit=32", "--epochs", "1", "--batch-size", "32",
        "--no-progress", "--threads", "1"]


pytestmark = pytest.mark.usefixtures("keep_threads")


def read_csv(path):
    with open(path) as f:
        return list(csv.DictReader(f))


def test_train_end_to_end(tmp_path, capsys):
    out = tmp_path / "run"
    rc = cli.main(["train", *TINY, "-T", "2", "--eval-T", "3", "--latency", "slt", "--out", str(out)])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "SLT-TET T=2" in printed and "Test accuracy at every latency" in printed
    assert "last epoch (1)" in printed and "best over epochs" in printed
    table_rows = [line.split() for line in printed.splitlines() if line.strip()[:1].isdigit() and "%" in line]
    assert [r[0] for r in table_rows] == ["1", "2", "3"]
    metrics = read_csv(out / "metrics.csv")
    assert len(metrics) == 1 and {"acc_t1", "acc_t2", "acc_t3", "mean_t", "test_loss"} <= set(metrics[0])
    latency = read_csv(out / "latency.csv")
    assert [r["t"] for r in latency] == ["1", "2", "3"]
    for r, row in zip(latency, table_rows):  # the printed table is the CSV, in percent
        assert float(row[1].rstrip("%")) == pytest.approx(100 * float(r["SLT-TET T=2"]), abs=0.006)
    assert (out / "latency.png").stat().st_size > 1000 and (out / "checkpoint.pt").exists()

    # --resume on the finished run: nothing left to train, the table is printed again from the checkpoint
    assert cli.main(["train", "--resume", str(out), "--no-progress"]) == 0
    assert "SLT-TET T=2" in capsys.readouterr().out


def test_preset_with_overrides_and_tit(tmp_path, capsys):
    rc = cli.main(["train", "--preset", "digits", *TINY, "--tit", "1:1:0.01,2:1:0.001", "--loss", "sdt",
                   "--out", str(tmp_path), "--quiet"])
    assert rc == 0
    rows = read_csv(tmp_path / "metrics.csv")
    assert [r["T"] for r in rows] == ["1", "2"] and [float(r["lr"]) for r in rows] == [0.01, 0.001]
    assert "TIT-SDT T=1>2" in capsys.readouterr().out


@pytest.mark.parametrize("argv, message", [
    (["train", "--model", "nope"], "model: unknown model 'nope'"),
    (["train", "--loss", "mse"], "--loss: invalid choice"),
    (["train", "--preset", "nope"], "--preset: invalid choice"),
    (["train", "-T", "0"], "T: expected an integer >= 1"),
    (["train", "--data", "cifar10", "--data-root", "/nonexistent/folder"], "does not exist"),
    (["train", "--data", "nope"], "data: unknown dataset"),
    (["train", "--tit", "2:3"], "T:epochs:lr"),
    (["train", "--resume", "/nonexistent/checkpoint.pt"], "no checkpoint"),
    (["train", "--data-arg", "novalue"], "KEY=VALUE"),
    (["train", "--amp", "bf16", "--device", "cpu"], "amp: bf16 autocast is for CUDA"),
    (["train", "--batch-size", "0"], "batch_size: expected an integer >= 1"),
    (["demo", "-T", "0"], "T: expected an integer >= 1"),
    (["nosuchcommand"], "invalid choice"),
])
def test_bad_input_exits_2_with_a_clear_message(argv, message, tmp_path, capsys):
    assert cli.main([*argv, *(["--out", str(tmp_path)] if argv[0] in ("train", "demo") else [])]) == 2
    assert message in capsys.readouterr().err


def add_arguments(parser):
    parser.add_argument("--word", default="hi")


def run(args):
    print(f"echo {args.word}")
    return 0


def test_a_subcommand_is_one_dict_entry(monkeypatch, capsys):
    monkeypatch.setitem(cli.SUBCOMMANDS, "echo", __name__)  # this module has add_arguments/run
    monkeypatch.setitem(cli.SUBCOMMANDS, "broken", "fastlif.no_such_module")
    assert cli.main(["echo", "--word", "spikes"]) == 0  # another subcommand's failed import does not matter
    assert "echo spikes" in capsys.readouterr().out


def test_python_dash_m_entry_point_exit_status():
    proc = subprocess.run([sys.executable, "-m", "fastlif.train", "--model", "nope", "--no-progress"],
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2 and "model: unknown model 'nope'" in proc.stderr


def test_the_library_never_imports_the_command_line():
    """``fastlif.commands`` sits on top: no library module imports from it (only the ``-m`` launchers do)."""
    import ast
    import pathlib

    import fastlif

    root = pathlib.Path(fastlif.__file__).parent
    launchers = {root / "__main__.py", root / "train" / "__main__.py"}
    offenders = []
    for path in root.rglob("*.py"):
        if path in launchers or (root / "commands") in path.parents:
            continue
        for node in ast.walk(ast.parse(path.read_text())):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] + [a.name for a in node.names] if isinstance(node, ast.ImportFrom) else [])
            if any(n.split(".")[-1] in ("commands", "cli") or ".commands" in f".{n}" for n in names):
                offenders.append(str(path.relative_to(root)))
    assert offenders == []
