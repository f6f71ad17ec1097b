"""Checkpoints verify themselves: every kind of bad file gives one clear error naming it, in the loader and in each
command that reads checkpoints (``train --resume``, ``energy``, ``landscape``); checkpoints are written 0644."""
import os
import stat
import warnings

import pytest
import torch

from fastlif.commands import main as cli
from fastlif.train import checkpoint as ckpt
from fastlif.train.trainer import RESUME_NEEDS

pytestmark = pytest.mark.usefixtures("one_thread")

WEIGHT = torch.linspace(-1.0, 1.0, 512)


def good(path):
    return ckpt.save_checkpoint({"config": {"model": "x"}, "model": {"w": WEIGHT.clone()}}, path)


def flip_inside_the_weight(path):
    weights = torch.load(path, weights_only=True)["model"].values()
    largest = max(weights, key=lambda t: t.numel())
    raw = bytearray(open(path, "rb").read())
    at = bytes(raw).find(largest.numpy().tobytes())
    assert at > 0
    for i in range(at + 100, at + 356):  # 256 bytes inside the tensor's data, as a bad disk or copy would
        raw[i] ^= 0xFF
    open(path, "wb").write(bytes(raw))


def truncate(path):
    raw = open(path, "rb").read()
    open(path, "wb").write(raw[:len(raw) // 2])


def empty(path):
    open(path, "wb").close()


def state_dict_only(path):
    torch.save({"w": WEIGHT}, path)


def text_file(path):
    open(path, "w").write("hello, not a checkpoint\n")


def future_format(path):
    torch.save({"format": 99, "config": {}, "model": {}}, path)


def pickled_object(path):
    torch.save({"format": 2, "config": {}, "model": {}, "thing": os.stat_result(range(10))}, path)


BAD = [(flip_inside_the_weight, "checksum mismatch: written by fastlif .* the file changed since it was written"),
       (truncate, "truncated"), (empty, "empty file"), (state_dict_only, "not a fastlif checkpoint .*bare state dict"),
       (text_file, "not a fastlif checkpoint"), (future_format, "unsupported format version 99"),
       (pickled_object, "not a fastlif checkpoint: it holds Python objects")]


@pytest.mark.parametrize("damage, message", BAD, ids=[d.__name__ for d, _ in BAD])
def test_each_bad_file_gets_one_clear_error(tmp_path, damage, message):
    path = tmp_path / "checkpoint.pt"
    good(path)
    assert torch.equal(ckpt.load_checkpoint(path)["model"]["w"], WEIGHT)
    damage(path)
    with pytest.raises(ckpt.CheckpointError, match=f"checkpoint {path}: {message}"):
        ckpt.load_checkpoint(path)


def test_a_checkpoint_without_optimizer_state_cannot_resume(tmp_path):
    path = good(tmp_path / "checkpoint.pt")
    with pytest.raises(ckpt.CheckpointError, match="lacks 'optimizer'.*cannot resume training"):
        ckpt.load_checkpoint(path, need=RESUME_NEEDS)


def test_format_1_checkpoints_of_fastlif_0_1_load_with_a_warning(tmp_path):
    path = tmp_path / "old.pt"
    torch.save({"format": 1, "config": {"model": "x"}, "model": {"w": WEIGHT}}, path)  # as fastlif 0.1.0 wrote
    with pytest.warns(UserWarning, match="format 1 .*without a checksum"):
        state = ckpt.load_checkpoint(path)
    assert torch.equal(state["model"]["w"], WEIGHT)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ckpt.load_checkpoint(good(tmp_path / "new.pt"))  # the current format loads without a word


def test_checkpoints_are_written_with_the_usual_file_mode(tmp_path):
    old = os.umask(0o022)
    try:
        path = good(tmp_path / "checkpoint.pt")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    assert cli.main(["train", "--data-arg", "train_limit=64", "--data-arg", "test_limit=16", "--epochs", "1",
                     "--batch-size", "32", "-T", "2", "--no-progress", "--quiet", "--threads", "1",
                     "--no-tensorboard", "--out", str(out)]) == 0
    return out / "checkpoint.pt"


@pytest.mark.parametrize("command", [["train", "--resume"], ["energy", "--checkpoint"],
                                     ["landscape", "--checkpoint"]])
@pytest.mark.parametrize("damage, message", BAD[:3], ids=[d.__name__ for d, _ in BAD[:3]])
def test_commands_report_a_bad_checkpoint_in_one_line(trained_run, tmp_path, capsys, command, damage, message):
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(trained_run.read_bytes())
    damage(path)
    assert cli.main([*command, str(path), "--out", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert "checkpoint" in err and ("checksum mismatch" in err if damage is flip_inside_the_weight else True)
    assert message.split(":")[0].split(" .*")[0] in err
