"""Time inheritance training (TET §4.3): stages (T, epochs, lr) in sequence on one model, each with a fresh
optimiser and schedule (the run's, or the stage's own); a resume across the stage boundary is exact."""
import math

import pytest
import torch

from fastlif.data import get_dataset
from fastlif.train import Stage, TrainConfig, Trainer


pytestmark = pytest.mark.usefixtures("one_thread")


def tit_config(out_dir=None, **kw):
    base = dict(tit=[(1, 1, 0.01), (3, 2, 0.002)], batch_size=32, out_dir=out_dir, progress=False,
                verbose=False, tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


def small_digits():
    return get_dataset("digits", train_limit=96, test_limit=40)


def test_stages_switch_T_lr_and_optimizer():
    trainer = Trainer(tit_config(), bundle=small_digits())
    seen = []
    original = trainer._epoch

    def spy():
        row = original()
        seen.append((trainer.stage_index, list(trainer.last_latencies)))
        return row

    trainer._epoch = spy
    result = trainer.fit()
    rows = result.history
    assert [r["stage"] for r in rows] == [1, 2, 2]
    assert [r["T"] for r in rows] == [1, 3, 3]
    # cosine to 0 within each stage, restarting at the stage's lr
    assert [r["lr"] for r in rows] == pytest.approx([0.01, 0.002, 0.002 * (1 + math.cos(math.pi / 2)) / 2])
    assert seen == [(0, [1, 1, 1]), (1, [3, 3, 3]), (1, [3, 3, 3])]
    # the stage-2 optimiser started fresh: Adam has counted only stage-2 steps
    steps = {int(s["step"]) for s in trainer.optimizer.state_dict()["state"].values()}
    assert steps == {2 * 3}
    # evaluation reaches the largest T of all stages
    assert all(len(r["accuracy"]) == 3 for r in rows)
    assert result.label == "TIT-TET T=1>3"
    assert TrainConfig(tit=[(2, 3, 0.1)]).stages() == [Stage(2, 3, 0.1)]


def test_resume_across_the_stage_boundary_is_exact(tmp_path):
    straight = Trainer(tit_config(str(tmp_path / "a")), bundle=small_digits())
    straight.fit()
    first = Trainer(tit_config(str(tmp_path / "b")), bundle=small_digits())
    first.fit(max_epochs=1)  # exactly the end of stage 1
    resumed = Trainer(tit_config(str(tmp_path / "b"), resume="auto"), bundle=small_digits())
    assert (resumed.stage_index, resumed.epoch_in_stage) == (1, 0)
    resumed.fit()
    for k, v in straight.model.state_dict().items():
        assert torch.equal(v, resumed.model.state_dict()[k]), k


@pytest.mark.parametrize("tit, match", [
    ([], "tit"),
    ([(2, 3)], r"tit\[0\]"),
    ([(2, 3, 0.1), (0, 1, 0.1)], r"tit\[1\]\.T"),
    ([(2, 0, 0.1)], r"tit\[0\]\.epochs"),
    ([(2, 1, -1.0)], r"tit\[0\]\.lr"),
])
def test_bad_stages(tit, match):
    with pytest.raises(ValueError, match=match):
        TrainConfig(tit=tit).validate()


def test_each_stage_can_have_its_own_optimizer_and_schedule():
    # TET's ImageNet TIT: SGD (cosine) first, then an Adam 1e-4 fine-tune, here with a constant rate
    cfg = tit_config(tit=[(1, 2, 0.1), (2, 2, 1e-4, "adam", "none")], optimizer="sgd")
    trainer = Trainer(cfg, bundle=small_digits())
    assert isinstance(trainer.optimizer, torch.optim.SGD)
    rows = trainer.fit().history
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    assert [r["lr"] for r in rows] == pytest.approx([0.1, 0.05, 1e-4, 1e-4])
    assert cfg.stages()[1] == Stage(2, 2, 1e-4, "adam", "none")
    assert TrainConfig.from_dict(cfg.to_dict()).stages() == cfg.stages()
    assert tit_config().to_dict()["tit"] == [[1, 1, 0.01], [3, 2, 0.002]]     # old 3-field stages save unchanged
    with pytest.raises(ValueError, match=r"tit\[0\].optimizer"):
        tit_config(tit=[(1, 1, 0.1, "rmsprop")]).validate()
    with pytest.raises(ValueError, match=r"tit\[0\].schedule"):
        tit_config(tit=[(1, 1, 0.1, None, "linear")]).validate()


def test_cli_parses_per_stage_optimizer_and_schedule():
    from fastlif.commands.train import parse_stages
    assert parse_stages("4:90:0.1,6:30:1e-4:adam:none,8:1:0.1::cosine") == [
        (4, 90, 0.1), (6, 30, 1e-4, "adam", "none"), (8, 1, 0.1, None, "cosine")]
