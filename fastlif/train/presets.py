"""Named option sets reproducing the papers' training settings (``fastlif train --preset NAME``).

Each preset follows its own paper: ``slt-*`` SLT (Anumasa et al., AAAI 2024, Table 1 and §Datasets), ``tet-*`` and
``tit-*`` TET (Deng et al., ICLR 2022, §5 and appendix A.1). Where the papers differ for the same data:

- DVS-CIFAR10 λ: TET 1e-3 (§5, A.3), SLT 1e-4 (Table 1).
- DVS-CIFAR10 frames: TET max-normalises each frame; SLT follows TEBN (Duan et al. 2022) — raw counts, random
  crop 48 with padding 4 and horizontal flip — where TET flips and rolls by up to 5 pixels.
- DVS128-Gesture (SLT Tables 2–3): the DVS-CIFAR10 settings ("a pre-processing step similar to DVS-CIFAR-10"),
  without the flip: a mirrored right-hand gesture is a left-hand class.

``acml-cifar10`` follows the ACML'23 supplement §5.2: the window SNN at T = 1, cross-entropy, SGD (0.05, momentum
0.9, weight decay 2e-5) with a warm-up from 1e-3, mixup 0.1, dropout 0.1, crop + flip without cutout, 300 epochs;
then the second 300 epochs with Adam 1e-3, weight decay 1e-4, decayed by 0.1. Not stated there, chosen here: the
batch (128), the warm-up length (3 epochs, timm's default), the first stage's schedule (cosine, timm's) and when
the fine-tune decays (×0.1 at 1/2 and 3/4). Its "learning rate noise is limit in 0.67" is timm's normal lr noise
with limit 0.67 (``lr_noise``), over the first stage after the warm-up (the paper gives no noise range). Left out:
the "augmentation splits as 2-6" (timm's ``--aug-splits``, clean + augmented copies of each batch): the paper
gives a range, not a value, and no augmentation for the extra splits beyond crop + flip.

SLT's TET baselines are its own presets at fixed T: ``--preset slt-cifar10-dvs --latency fixed``. Flags given next
to a preset override it. ``PRESETS`` is a plain dict: a new preset is one entry.
"""
from __future__ import annotations

_CIFAR = dict(model="resnet19", loss="tet", lam=0.05, optimizer="adam", lr=0.01, schedule="cosine",
              batch_size=256, epochs=300)
# VGGSNN at T = 10, Adam 1e-3, cosine, 300 epochs: both TET (A.1) and SLT (Table 1); batch 64 from SLT.
_DVS = dict(model="vggsnn", data="cifar10-dvs", loss="tet", optimizer="adam", lr=1e-3, schedule="cosine",
            batch_size=64, epochs=300, T=10)
_SLT_DVS = dict(_DVS, lam=1e-4, data_kwargs=dict(augment="crop-flip"))        # raw counts (the default)
_TET_DVS = dict(_DVS, lam=1e-3, data_kwargs=dict(normalize="max"))            # flip + roll (the default)
# TET A.1 (CIFAR): 300 epochs at T = 2 (Adam 0.01, cosine), then 50 epochs at T = 6 with lr 1e-4.
_TIT_CIFAR = [(2, 300, 0.01), (6, 50, 1e-4)]

PRESETS = {
    # The embedded default run: what `fastlif train` does with no arguments.
    "digits": dict(model="digits_cnn", data="digits", loss="tet", lam=0.05, T=4, latency="fixed",
                   optimizer="adam", lr=0.01, schedule="cosine", batch_size=64, epochs=10),
    # SLT Table 1: ResNet-19, T = 8, SLT-TET, Adam 0.01, batch 256, lambda 0.05, cosine, 300 epochs, cutout.
    "slt-cifar10": dict(_CIFAR, data="cifar10", T=8, latency="slt"),
    "slt-cifar100": dict(_CIFAR, data="cifar100", T=8, latency="slt"),
    # The fixed-T TET baseline SLT compares against (same settings, T = 8 every batch).
    "tet-cifar10": dict(_CIFAR, data="cifar10", T=8, latency="fixed"),
    "tet-cifar100": dict(_CIFAR, data="cifar100", T=8, latency="fixed"),
    "tit-cifar10": dict(_CIFAR, data="cifar10", latency="fixed", tit=_TIT_CIFAR),
    "tit-cifar100": dict(_CIFAR, data="cifar100", latency="fixed", tit=_TIT_CIFAR),
    # SLT Table 1, DVS-CIFAR10: VGGSNN, T = 10, Adam 1e-3, batch 64, lambda 1e-4, cosine, 300 epochs; TEBN frames.
    "slt-cifar10-dvs": dict(_SLT_DVS, latency="slt"),
    # TET §5 / A.1: lambda 1e-3, per-frame max-normalised frames, flip + roll.
    "tet-cifar10-dvs": dict(_TET_DVS, latency="fixed"),
    # SLT Tables 2-3, DVS-Gesture: VGGSNN (11 classes), the DVS-CIFAR10 settings, crop without flip.
    "slt-dvs128-gesture": dict(_SLT_DVS, data="dvs128-gesture", latency="slt",
                               data_kwargs=dict(augment="crop-flip", flip_p=0.0)),
    # ACML'23 supplement §5.2 (see the module docstring for what it leaves open).
    "acml-cifar10": dict(model="window_snn", data="cifar10", data_kwargs=dict(cutout=0), model_kwargs=dict(dropout=0.1),
                         loss="sdt", latency="fixed", optimizer="sgd", momentum=0.9, weight_decay=2e-5,
                         schedule="cosine", warmup_epochs=3, warmup_lr=1e-3, mixup=0.1, lr_noise=0.67,
                         batch_size=128,
                         tit=[(1, 300, 0.05), (1, 300, 1e-3, "adam", "step", 1e-4)]),
}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; expected one of {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])
