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
    no_epochs = [a for i, a in enumerate(TINY) if "--epochs" not in TINY[max(i - 1, 0):i + 1]]
    rc = cli.main(["train", "--preset", "digits", *no_epochs, "--tit", "1:1:0.01,2:1:0.001", "--loss", "sdt",
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
    (["train", "--amp", "fp16", "--device", "cpu"], "amp: fp16 autocast is for CUDA"),
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


def test_resume_with_more_epochs_extends_the_run_and_other_changes_are_named(tmp_path, capsys):
    out = tmp_path / "run"
    base = ["--data-arg", "train_limit=64", "--data-arg", "test_limit=16", "--batch-size", "32", "--no-progress",
            "--threads", "1", "--no-tensorboard", "-T", "2"]
    assert cli.main(["train", *base, "--epochs", "1", "--out", str(out)]) == 0
    assert len(read_csv(out / "metrics.csv")) == 1
    assert cli.main(["train", "--resume", str(out), "--epochs", "3", "--no-progress", "--workers", "0"]) == 0
    rows = read_csv(out / "metrics.csv")
    assert [r["epoch"] for r in rows] == ["1", "2", "3"]
    capsys.readouterr()
    assert cli.main(["train", "--resume", str(out), "--lr", "0.5", "-T", "2"]) == 2
    err = capsys.readouterr().err
    assert "--resume: the run was trained with --lr 0.01, not 0.5" in err and "-T" not in err.split(";")[0]
    assert cli.main(["train", "--resume", str(out), "--epochs", "2"]) == 2
    assert "epochs: the checkpoint has trained 3 epochs already" in capsys.readouterr().err


def test_a_run_never_overwrites_another_unless_told(tmp_path, capsys):
    out = tmp_path / "run"
    argv = ["train", "--data-arg", "train_limit=32", "--data-arg", "test_limit=16", "--batch-size", "32",
            "--no-progress", "--threads", "1", "--no-tensorboard", "-T", "1", "--epochs", "1", "--out", str(out)]
    assert cli.main(argv) == 0
    before = (out / "checkpoint.pt").read_bytes()
    assert cli.main([*argv, "--seed", "3"]) == 2
    err = capsys.readouterr().err
    assert "already holds a run" in err and "--overwrite" in err
    assert (out / "checkpoint.pt").read_bytes() == before
    assert cli.main([*argv, "--seed", "3", "--overwrite"]) == 0
    assert (out / "checkpoint.pt").read_bytes() != before


def test_the_run_folder_and_its_config_exist_from_the_start(tmp_path):
    from fastlif.train import TrainConfig, Trainer

    out = tmp_path / "run"
    trainer = Trainer(TrainConfig(data_kwargs={"train_limit": 32, "test_limit": 16}, epochs=1, out_dir=str(out),
                                  progress=False, verbose=False, tensorboard=False))
    assert sorted(p.name for p in out.iterdir()) == ["config.json"]  # before any epoch
    trainer.close()


def test_tit_with_T_or_epochs_is_an_error_not_a_silent_drop(tmp_path, capsys):
    assert cli.main(["train", "--tit", "1:1:0.01,2:1:0.01", "-T", "4", "--epochs", "3", "--out", str(tmp_path)]) == 2
    assert "--tit: sets T, epochs and lr per stage; drop -T, --epochs" in capsys.readouterr().err


def test_ctrl_c_keeps_the_last_checkpoint_and_says_how_to_resume(tmp_path):
    import os
    import signal
    import time

    from fastlif.train.checkpoint import load_checkpoint

    out = tmp_path / "run"
    proc = subprocess.Popen([sys.executable, "-m", "fastlif", "train", "--data-arg", "train_limit=64",
                             "--data-arg", "test_limit=16", "--batch-size", "32", "--epochs", "10000",
                             "--threads", "1", "--no-tensorboard", "--out", str(out)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            cwd=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    while not (out / "checkpoint.pt").exists() and proc.poll() is None:
        time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    stdout, stderr = proc.communicate(timeout=120)
    assert proc.returncode == 130 and "Traceback" not in stderr
    assert f"fastlif train --resume {out}" in stderr
    assert "\r" not in stderr  # not a terminal: no progress bar, plain per-epoch lines
    assert "fastlif train: digits_cnn (" in stdout and "run folder: " + str(out) in stdout  # start-of-run summary
    assert "] epoch 1/10000" in stdout
    assert load_checkpoint(out / "checkpoint.pt")["history"]  # intact, verified, at least one epoch


def test_version():
    import fastlif

    done = subprocess.run([sys.executable, "-m", "fastlif", "--version"], capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout.strip() == f"fastlif {fastlif.__version__}"


def test_amp_bf16_runs_on_cpu(tmp_path):
    assert cli.main(["train", *TINY, "-T", "1", "--amp", "bf16", "--device", "cpu", "--no-tensorboard",
                     "--out", str(tmp_path)]) == 0
