"""Event data: a run's T must use every frame of the data (no silent slicing); ``rebin`` re-integrates the events."""
import pytest

from fastlif.commands import main as cli
from fastlif.train import TrainConfig, Trainer

pytestmark = pytest.mark.usefixtures("one_thread")


def config(tmp_path, **kw):
    base = dict(data="event-digits", data_kwargs={"T": 6, "limit": 16, "size": 8}, T=3, epochs=1, batch_size=8,
                out_dir=str(tmp_path / "run"), progress=False, verbose=False, tensorboard=False)
    return TrainConfig(**{**base, **kw})


def test_T_below_the_frame_count_is_an_error_not_a_slice(tmp_path):
    with pytest.raises(ValueError, match=r"T: the run's longest latency is 3 .* 6 frames per sample, which it would "
                                         r"cut to their first 3; pass --rebin"):
        Trainer(config(tmp_path))
    with pytest.raises(ValueError, match="would not cover"):
        Trainer(config(tmp_path, T=8))


def test_rebin_builds_one_frame_per_step(tmp_path):
    trainer = Trainer(config(tmp_path, rebin=True, eval_T=4))
    x, _ = trainer.bundle.test[0]
    assert x.shape[0] == 4  # max(T, eval_T) frames: all the events, re-integrated
    trainer.close()
    with pytest.raises(ValueError, match="rebin: digits is not event data"):
        Trainer(config(tmp_path, data="digits", data_kwargs={}, rebin=True, out_dir=None))


def test_cli_offers_rebin(tmp_path, capsys):
    argv = ["train", "--data", "event-digits", "--data-arg", "T=6", "--data-arg", "limit=16", "--data-arg", "size=8",
            "-T", "2", "--epochs", "1", "--batch-size", "8", "--no-progress", "--no-tensorboard", "--quiet",
            "--out", str(tmp_path / "a")]
    assert cli.main(argv) == 2
    assert "--rebin" in capsys.readouterr().err
    assert cli.main([*argv, "--rebin"]) == 0
