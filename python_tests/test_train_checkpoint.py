"""Atomic checkpoints and exact resume: on CPU, 2 epochs straight == 1 epoch + resume + 1 epoch, bit for bit."""
import dataclasses
import os

import pytest
import torch

from fastlif.data import get_dataset
from fastlif.data.augment import image_prepare
from fastlif.train import TrainConfig, Trainer
from fastlif.train import checkpoint as ckpt


pytestmark = pytest.mark.usefixtures("one_thread")


def test_save_is_atomic_when_the_write_crashes(tmp_path, monkeypatch):
    path = tmp_path / "run" / "checkpoint.pt"
    ckpt.save_checkpoint({"config": {}, "epoch": 1, "w": torch.arange(4.0)}, path)

    def torn_save(obj, f):
        f.write(b"\x80\x02partial")  # half a file, then the process "dies"
        raise KeyboardInterrupt

    monkeypatch.setattr(ckpt.torch, "save", torn_save)
    with pytest.raises(KeyboardInterrupt):
        ckpt.save_checkpoint({"epoch": 2, "w": torch.zeros(4)}, path)
    monkeypatch.undo()
    state = ckpt.load_checkpoint(path, need=())
    assert state["epoch"] == 1 and torch.equal(state["w"], torch.arange(4.0))
    assert os.listdir(path.parent) == ["checkpoint.pt"]  # no temporary file left behind
    ckpt.save_checkpoint({"config": {}, "epoch": 2}, path)
    assert ckpt.load_checkpoint(path, need=())["epoch"] == 2
    with pytest.raises(FileNotFoundError, match="no checkpoint"):
        ckpt.load_checkpoint(tmp_path / "missing.pt")


def augmented_digits():
    """Tiny digits with random crop, flip and cutout, so resume must also reproduce the augmentation draws."""
    b = get_dataset("digits", train_limit=160, test_limit=60)
    return dataclasses.replace(b, prepare=image_prepare((0.5,), (0.5,), crop_padding=1, cutout_size=2, scale=1.0))


def run_config(out_dir, **kw):
    base = dict(T=3, epochs=2, batch_size=32, latency="slt", lr=0.01, weight_decay=1e-4, grad_clip=5.0,
                out_dir=str(out_dir), progress=False, verbose=False, tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


def assert_same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


def without_timing(history):
    return [{k: v for k, v in r.items() if not k.startswith("train_time") and k != "train_samples_per_s"}
            for r in history]


@pytest.mark.parametrize("optimizer", ["adam", "sgd"])
def test_resume_is_bit_exact(tmp_path, optimizer):
    straight = Trainer(run_config(tmp_path / "straight", optimizer=optimizer), bundle=augmented_digits())
    straight.fit()

    first = Trainer(run_config(tmp_path / "split", optimizer=optimizer), bundle=augmented_digits())
    partial = first.fit(max_epochs=1)
    assert not partial.finished and len(partial.history) == 1
    resumed = Trainer(run_config(tmp_path / "split", optimizer=optimizer, resume="auto"), bundle=augmented_digits())
    assert resumed.global_epoch == 1
    result = resumed.fit()
    assert result.finished

    assert_same_weights(straight.model, resumed.model)
    assert without_timing(straight.history) == without_timing(resumed.history)
    assert straight.optimizer.state_dict()["param_groups"][0]["lr"] == resumed.optimizer.state_dict()[
        "param_groups"][0]["lr"]
    files = sorted(os.listdir(tmp_path / "split"))
    assert files == ["checkpoint.pt", "config.json", "latency.csv", "latency.png", "metrics.csv"]
    with open(tmp_path / "split" / "metrics.csv") as f:
        assert len(f.read().strip().splitlines()) == 1 + 2  # header + one row per epoch, across the resume


def test_resume_refuses_a_checkpoint_of_different_options(tmp_path):
    Trainer(run_config(tmp_path, epochs=1), bundle=augmented_digits()).fit()
    with pytest.raises(ValueError, match=r"resume: .*lr \(0.01 there, 0.02 here\)"):
        Trainer(run_config(tmp_path, epochs=1, lr=0.02, resume="auto"), bundle=augmented_digits())
    with pytest.raises(FileNotFoundError, match="resume"):
        Trainer(run_config(tmp_path, resume=str(tmp_path / "nope.pt")), bundle=augmented_digits())
