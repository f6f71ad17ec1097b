"""Recipe pieces of ACML'23 §5.2 in the trainer: warm-up, the step schedule, per-stage weight decay, mixup, the
mixer's dropout — and the acml-cifar10 preset that puts them together."""
import pytest
import torch

from fastlif import models
from fastlif.data import get_dataset
from fastlif.train import TrainConfig, Trainer
from fastlif.train.presets import get_preset
from fastlif.train.trainer import LrFactor, mixup_weight


@pytest.fixture(autouse=True)
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def small(**kw):
    base = dict(T=1, batch_size=32, out_dir=None, progress=False, verbose=False, tensorboard=False)
    base.update(kw)
    return TrainConfig(**base)


def test_warmup_then_cosine_and_step_schedules_per_epoch():
    warm = LrFactor("cosine", epochs=8, warmup_epochs=2, warmup_start=0.1)
    assert [warm(e) for e in range(3)] == pytest.approx([0.1, 0.55, 0.5 * (1 + 0.7071067811865476)])
    step = LrFactor("step", epochs=8)
    assert [step(e) for e in range(8)] == pytest.approx([1, 1, 1, 1, 0.1, 0.1, 0.01, 0.01])
    assert [LrFactor("none", 3)(e) for e in range(3)] == [1.0, 1.0, 1.0]


def test_lr_noise_is_timms_normal_noise_within_the_limit_after_warmup():
    noisy = LrFactor("cosine", epochs=20, warmup_epochs=2, warmup_start=0.1, noise=0.67, noise_seed=42)
    plain = LrFactor("cosine", epochs=20, warmup_epochs=2, warmup_start=0.1)
    assert [noisy(e) for e in range(2)] == [plain(e) for e in range(2)]          # none in the warm-up
    for e in range(2, 20):
        g = torch.Generator().manual_seed(42 + e)            # timm: N(0, 1) redrawn until |n| < pct
        n = torch.randn(1, generator=g).item()
        while abs(n) >= 0.67:
            n = torch.randn(1, generator=g).item()
        assert noisy(e) == pytest.approx(plain(e) * (1 + n))
    ratios = [noisy(e) / plain(e) for e in range(2, 19)]
    assert all(0.33 < r < 1.67 for r in ratios) and max(ratios) - min(ratios) > 0.3
    with pytest.raises(ValueError, match="lr_noise"):
        small(lr_noise=1.0).validate()


def test_trainer_applies_lr_noise_to_the_first_stage_only():
    cfg = small(tit=[(1, 3, 0.05), (1, 2, 1e-3, None, "none")], optimizer="sgd", warmup_epochs=1, warmup_lr=1e-3,
                lr_noise=0.5, seed=3)
    rows = Trainer(cfg, bundle=get_dataset("digits", train_limit=64, test_limit=32)).fit().history
    first = LrFactor("cosine", 3, 1, 1e-3 / 0.05, 0.5, 3)
    assert [r["lr"] for r in rows] == pytest.approx([0.05 * first(e) for e in range(3)] + [1e-3, 1e-3])
    assert rows[1]["lr"] != pytest.approx(0.05 * LrFactor("cosine", 3)(1))


def test_trainer_warms_up_the_first_stage_only_and_uses_the_stage_weight_decay():
    cfg = small(tit=[(1, 3, 0.05), (1, 4, 1e-3, "adam", "step", 1e-4)], optimizer="sgd", weight_decay=2e-5,
                warmup_epochs=2, warmup_lr=1e-3)
    trainer = Trainer(cfg, bundle=get_dataset("digits", train_limit=64, test_limit=32))
    assert trainer.optimizer.param_groups[0]["weight_decay"] == 2e-5
    rows = trainer.fit().history
    assert [r["lr"] for r in rows] == pytest.approx([1e-3, 0.0255, 0.05 * 0.25, 1e-3, 1e-3, 1e-4, 1e-5])
    assert isinstance(trainer.optimizer, torch.optim.Adam)
    assert trainer.optimizer.param_groups[0]["weight_decay"] == 1e-4
    with pytest.raises(ValueError, match="warmup_epochs"):
        small(epochs=2, warmup_epochs=3).validate()
    with pytest.raises(ValueError, match="mixup"):
        small(mixup=-1.0).validate()


def test_mixup_mixes_batch_and_loss_with_a_seeded_beta_weight():
    g1, g2 = torch.Generator().manual_seed(3), torch.Generator().manual_seed(3)
    lams = [mixup_weight(0.1, g1) for _ in range(200)]
    assert lams == [mixup_weight(0.1, g2) for _ in range(200)]
    assert all(0 <= v <= 1 for v in lams) and sum(v < 0.05 or v > 0.95 for v in lams) > 120  # Beta(0.1, 0.1)
    assert mixup_weight(0.0, g1) is None
    # in the trainer: the model sees λ·x + (1-λ)·x.flip(0)
    cfg = small(epochs=1, mixup=0.1, batch_size=4)
    trainer = Trainer(cfg, bundle=get_dataset("digits", train_limit=4, test_limit=4))
    seen = []
    trainer.model.register_forward_pre_hook(lambda m, args: seen.append(args[0].clone()) if m.training else None)
    raw = []
    prepare = trainer.bundle.prepare
    trainer.bundle = trainer.bundle.__class__(**{**trainer.bundle.__dict__,
                                                "prepare": lambda x, tr, g: raw.append(prepare(x, tr, g)) or raw[-1]})
    trainer.fit()
    x = raw[0]
    lam = (seen[0] - x.flip(0)).flatten().dot((x - x.flip(0)).flatten()) / (x - x.flip(0)).pow(2).sum()
    torch.testing.assert_close(seen[0], lam * x + (1 - lam) * x.flip(0))
    assert 0 < float(lam) < 1


def test_mixer_dropout_drops_output_spikes_in_training_only():
    torch.manual_seed(0)
    net = models.get("window_snn_tiny", num_classes=10, dropout=0.5)
    mixer = net.stages[0][0].mixer
    x = torch.rand(2, 8, 8, 16)
    mixer.eval()
    torch.testing.assert_close(mixer(x), mixer.fc(mixer.spikes(x)))
    mixer.train()
    torch.manual_seed(1)
    s = mixer.dropout(torch.ones(1000))
    assert set(torch.unique(s).tolist()) == {0.0, 2.0}
    with pytest.raises(ValueError, match="dropout"):
        models.get("window_snn_tiny", num_classes=10, dropout=1.0)


def test_acml_cifar10_preset_is_the_supplements_recipe():
    p = get_preset("acml-cifar10")
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **p}).validate()
    assert cfg.model == "window_snn" and cfg.data == "cifar10" and cfg.data_kwargs == {"cutout": 0}
    assert cfg.max_T() == 1 and cfg.loss == "sdt"
    assert (cfg.optimizer, cfg.momentum, cfg.weight_decay) == ("sgd", 0.9, 2e-5)
    assert (cfg.warmup_lr, cfg.mixup, cfg.model_kwargs) == (1e-3, 0.1, {"dropout": 0.1})
    assert cfg.lr_noise == 0.67
    first, tune = cfg.stages()
    assert (first.epochs, first.lr) == (300, 0.05)
    assert (tune.T, tune.epochs, tune.lr, tune.optimizer, tune.schedule, tune.weight_decay) == \
        (1, 300, 1e-3, "adam", "step", 1e-4)


def test_cli_flags_reach_the_config():
    import argparse

    from fastlif.commands.train import add_arguments, config_from_args, parse_stages
    p = argparse.ArgumentParser()
    add_arguments(p)
    cfg = config_from_args(p.parse_args(["--preset", "acml-cifar10", "--mixup", "0.2", "--warmup-epochs", "5",
                                          "--lr-noise", "0.5"]))
    assert (cfg.mixup, cfg.warmup_epochs, cfg.warmup_lr, cfg.lr_noise) == (0.2, 5, 1e-3, 0.5)
    assert parse_stages("1:300:1e-3:adam:step:1e-4,2:1:0.1:::0")[1] == (2, 1, 0.1, None, None, 0.0)


def test_resume_from_a_checkpoint_with_the_older_cosine_scheduler_state(tmp_path):
    cfg = small(epochs=3, out_dir=str(tmp_path), lr=0.01)
    bundle = get_dataset("digits", train_limit=64, test_limit=32)
    first = Trainer(cfg, bundle=bundle)
    first.fit(max_epochs=1)
    state = first.state_dict()
    old = torch.optim.lr_scheduler.CosineAnnealingLR(first.optimizer, T_max=3)
    old.last_epoch = 1
    state["scheduler"] = old.state_dict()
    state["format"] = 1  # as fastlif 0.1.0 wrote it: no checksum (loads with a warning)
    torch.save(state, tmp_path / "checkpoint.pt")
    resumed = Trainer(cfg.replace(resume="auto"), bundle=bundle)
    rows = resumed.fit().history
    assert [r["lr"] for r in rows] == pytest.approx([0.01, 0.0075, 0.0025])
