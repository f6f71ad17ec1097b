"""Named option sets reproducing the papers' training settings (``fastlif train --preset NAME``).

Values from SLT (Anumasa et al., AAAI 2024, Table 1) and TET (Deng et al., ICLR 2022, appendix A.1). Flags given
next to a preset override it. ``PRESETS`` is a plain dict: a new preset is one entry.
"""
from __future__ import annotations

_CIFAR = dict(model="resnet19", loss="tet", lam=0.05, optimizer="adam", lr=0.01, schedule="cosine",
              batch_size=256, epochs=300)
_DVS = dict(model="vggsnn", data="cifar10-dvs", loss="tet", lam=1e-4, optimizer="adam", lr=1e-3,
            schedule="cosine", batch_size=64, epochs=300, T=10)

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
    # TET A.1 with TIT: 300 epochs at T = 2 (Adam 0.01, cosine), then 50 epochs at T = 6 with lr 1e-4.
    "tit-cifar10": dict(_CIFAR, data="cifar10", latency="fixed", tit=[(2, 300, 0.01), (6, 50, 1e-4)]),
    "tit-cifar100": dict(_CIFAR, data="cifar100", latency="fixed", tit=[(2, 300, 0.01), (6, 50, 1e-4)]),
    # SLT Table 1, DVS-CIFAR10: VGGSNN, T = 10, Adam 1e-3, batch 64, lambda 1e-4, cosine, 300 epochs.
    "slt-cifar10-dvs": dict(_DVS, latency="slt"),
    "tet-cifar10-dvs": dict(_DVS, latency="fixed"),
}


def get_preset(name: str) -> dict:
    if name not in PRESETS:
        raise ValueError(f"preset: unknown preset {name!r}; expected one of {', '.join(sorted(PRESETS))}")
    return dict(PRESETS[name])
