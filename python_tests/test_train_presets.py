"""Each preset follows its own paper (fastlif/train/presets.py): values, and that every option reaches something."""
import inspect

import pytest

from fastlif import models
from fastlif.data import DATASETS
from fastlif.train.config import TrainConfig
from fastlif.train.presets import PRESETS, get_preset


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_a_valid_config_whose_data_options_the_dataset_takes(name):
    preset = get_preset(name)
    cfg = TrainConfig.from_dict({**TrainConfig().to_dict(), **preset}).validate()
    takes = inspect.signature(DATASETS[cfg.data]).parameters
    assert set(cfg.data_kwargs) <= set(takes), (name, cfg.data_kwargs)
    assert cfg.model in models.names()


def test_dvs_cifar10_presets_follow_their_own_paper():
    slt, tet = get_preset("slt-cifar10-dvs"), get_preset("tet-cifar10-dvs")
    # SLT Table 1 and TEBN's preprocessing: lambda 1e-4, raw counts, crop 48 with padding 4 + flip
    assert slt["lam"] == 1e-4 and slt["latency"] == "slt"
    assert slt["data_kwargs"] == {"augment": "crop-flip"}
    assert inspect.signature(DATASETS["cifar10-dvs"]).parameters["crop_padding"].default == 4
    assert inspect.signature(DATASETS["cifar10-dvs"]).parameters["normalize"].default is None
    # TET §5 / A.3: lambda 1e-3, per-frame max-normalised frames, flip + roll (the dataset's default augment)
    assert tet["lam"] == 1e-3 and tet["latency"] == "fixed"
    assert tet["data_kwargs"] == {"normalize": "max"}
    assert inspect.signature(DATASETS["cifar10-dvs"]).parameters["augment"].default == "flip-roll"
    for p in (slt, tet):
        assert (p["model"], p["T"], p["optimizer"], p["lr"], p["schedule"], p["epochs"]) == \
            ("vggsnn", 10, "adam", 1e-3, "cosine", 300)


def test_dvs128_gesture_preset_is_slts():
    g = get_preset("slt-dvs128-gesture")
    assert (g["data"], g["model"], g["T"], g["latency"], g["lam"], g["batch_size"]) == \
        ("dvs128-gesture", "vggsnn", 10, "slt", 1e-4, 64)
    assert g["data_kwargs"] == {"augment": "crop-flip", "flip_p": 0.0}


def test_window_snn_trains_at_one_step_unless_asked():
    # ACML'23 §5.2: the window SNN runs one time step; the CNNs keep fastlif's default of 4
    assert TrainConfig(model="window_snn").stages()[0].T == 1
    assert TrainConfig(model="window_snn_lstm").max_T() == 1
    assert TrainConfig(model="digits_cnn").stages()[0].T == 4
    assert TrainConfig(model="window_snn", T=3).stages()[0].T == 3
