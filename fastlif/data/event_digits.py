"""An event dataset that needs no files: scikit-learn's 8×8 digits seen by a simulated event camera.

As N-MNIST was recorded (Orchard et al. 2015), the digit is moved along a small triangular saccade in front of
the sensor. A DVS pixel emits an ON (OFF) event each time its log intensity has risen (fallen) by the contrast
threshold ``C`` since its last event; we simulate that on a ``sensor``×``sensor`` canvas sampled at ``steps``
points along the path, with a per-pixel threshold mismatch and per-sample path jitter. Everything is drawn from
``numpy.random.default_rng([seed, sample index])``, so the same seed gives the same events.

The events then go through the same frame conversion as the real datasets (:mod:`fastlif.data.frames`).
"""
from __future__ import annotations

from typing import Optional

import numpy as np
import torch
from torch.utils.data import TensorDataset

from ..checks import check_int
from .aedat import Events
from .bundle import DataBundle
from .event_augment import event_prepare
from .frames import SPLITS, events_to_frames

__all__ = ["NUM_CLASSES", "DigitEvents", "simulate_saccades", "digit_frames", "train_test_indices", "event_digits"]

NUM_CLASSES = 10
DIGIT_SIZE = 8            # sklearn digits are 8x8 with intensities 0..16
TEST_FRACTION = 0.2
BACKGROUND = 0.1          # scene intensity where there is no ink (the strokes add up to 1)


class DigitEvents:
    """Parameters of the simulated sensor and saccade (the defaults give ~1500 events per digit)."""

    def __init__(self, sensor: int = 32, steps: int = 24, amplitude: float = 2.0, contrast: float = 0.5,
                 mismatch: float = 0.05, step_us: int = 1000):
        check_int("sensor", sensor, low=2 * DIGIT_SIZE)
        check_int("steps", steps, low=3)  # one per saccade leg at least
        if contrast <= 0:
            raise ValueError(f"contrast: expected a positive log-intensity threshold, got {contrast}")
        if amplitude < 0 or mismatch < 0:
            raise ValueError(f"amplitude and mismatch: expected >= 0, got {amplitude} and {mismatch}")
        self.sensor, self.steps, self.amplitude = sensor, steps, amplitude
        self.contrast, self.mismatch, self.step_us = contrast, mismatch, step_us


def _path(rng: np.random.Generator, cfg: DigitEvents) -> np.ndarray:
    """[steps + 1, 2] (dx, dy) offsets: a closed triangle with jittered amplitude and corners."""
    corners = np.array([[0.0, 0.0], [1.0, 1.0], [-1.0, 1.0], [0.0, 0.0]]) * rng.uniform(0.8, 1.2)
    corners[1:3] += rng.uniform(-0.125, 0.125, size=(2, 2))
    corners *= cfg.amplitude
    s = np.linspace(0.0, 3.0, cfg.steps + 1)              # position along the three legs
    leg = np.minimum(s.astype(int), 2)
    frac = (s - leg)[:, None]
    return corners[leg] * (1 - frac) + corners[leg + 1] * frac


def _render(images: np.ndarray, offsets: np.ndarray, sensor: int) -> np.ndarray:
    """The digits as bilinear images on the canvas, scaled to ~3/4 of it, centred, then shifted by ``offsets``
    ``[n, 2]`` (dx, dy) pixels: ``[n, sensor, sensor]``.

    Bilinear sampling is separable, so each image is ``Wy @ digit @ Wx^T`` with ``[sensor, 8]`` tent-weight
    matrices — one batched matmul instead of a resampling grid per pixel.
    """
    side = (3 * sensor) // 4
    pad = (sensor - side) / 2
    centres = np.arange(sensor) + 0.5
    taps = np.arange(DIGIT_SIZE)

    def weights(shift):  # [n, sensor, 8]
        u = (centres[None, :] - pad - shift[:, None]) * (DIGIT_SIZE / side) - 0.5
        return np.maximum(0.0, 1.0 - np.abs(u[:, :, None] - taps))

    return weights(offsets[:, 1]) @ images @ weights(offsets[:, 0]).transpose(0, 2, 1)


def simulate_saccades(images: np.ndarray, seed: int = 0, cfg: DigitEvents | None = None,
                      sample_ids=None) -> list[Events]:
    """Event streams of ``images`` ``[n, 8, 8]`` (values 0..16) moved along jittered saccades.

    Sample i draws its path and threshold mismatch from ``default_rng([seed, sample_ids[i]])`` (default id i), so
    a sample's events do not depend on which other samples are simulated with it.
    """
    cfg = cfg or DigitEvents()
    images = np.asarray(images, dtype=np.float64)
    if images.ndim != 3 or images.shape[1:] != (DIGIT_SIZE, DIGIT_SIZE):
        raise ValueError(f"images: expected [n, {DIGIT_SIZE}, {DIGIT_SIZE}], got {images.shape}")
    n, S = images.shape[0], cfg.sensor
    ids = np.arange(n) if sample_ids is None else np.asarray(sample_ids)
    if ids.shape != (n,):
        raise ValueError(f"sample_ids: expected {n} ids, one per image, got shape {ids.shape}")
    offsets = np.empty((n, cfg.steps + 1, 2))
    threshold = np.empty((n, S, S))
    for i in range(n):
        rng = np.random.default_rng([seed, int(ids[i])])
        offsets[i] = _path(rng, cfg)
        threshold[i] = cfg.contrast * np.maximum(1.0 + cfg.mismatch * rng.standard_normal((S, S)), 0.05)
    imgs = images / 16.0
    # A dim background keeps log() finite; the digit strokes reach 1 + BACKGROUND.
    ref = np.log(BACKGROUND + _render(imgs, offsets[:, 0], S))
    parts = []  # (sample, t, x, y, p) per step
    for k in range(1, cfg.steps + 1):
        level = np.log(BACKGROUND + _render(imgs, offsets[:, k], S))
        diff = level - ref
        n_ev = np.floor(np.abs(diff) / threshold).astype(np.int64)
        ref += np.sign(diff) * n_ev * threshold
        idx = np.nonzero(n_ev)
        reps = n_ev[idx]
        smp, yy, xx = (np.repeat(v, reps) for v in idx)
        pol = np.repeat((diff[idx] > 0).astype(np.int8), reps)
        # The j-th event of a pixel fires when the (linearly interpolated) change crosses j thresholds.
        rank = np.arange(reps.sum()) - np.repeat(np.cumsum(reps) - reps, reps) + 1
        frac = rank * np.repeat(threshold[idx] / np.abs(diff[idx]), reps)
        t = ((k - 1 + frac) * cfg.step_us).astype(np.int64)
        parts.append((smp, t, xx, yy, pol))
    smp, t, x, y, p = (np.concatenate(v) for v in zip(*parts))
    order = np.lexsort((t, smp))                            # by sample, then time
    smp, t, x, y, p = smp[order], t[order], x[order], y[order], p[order]
    bounds = np.searchsorted(smp, np.arange(n + 1))
    return [Events(t=t[a:b], x=x[a:b].astype(np.int16), y=y[a:b].astype(np.int16), p=p[a:b])
            for a, b in zip(bounds[:-1], bounds[1:])]


def train_test_indices(labels: np.ndarray, train: bool) -> np.ndarray:
    """Deterministic stratified split: per class, in dataset order, the last fifth is the test set."""
    chosen = []
    for c in range(NUM_CLASSES):
        idx = np.flatnonzero(labels == c)
        n_test = int(round(TEST_FRACTION * len(idx)))
        chosen.append(idx[:len(idx) - n_test] if train else idx[len(idx) - n_test:])
    return np.sort(np.concatenate(chosen))


def digit_frames(train: bool = True, T: int = 8, split_by: str = "number", seed: int = 0,
                 cfg: DigitEvents | None = None, limit: int | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Frames ``[n, T, 2, sensor, sensor]`` (uint8 event counts) and labels ``[n]`` of one split.

    ``limit`` keeps the first ``limit`` samples of the split (for quick runs and tests).
    """
    from sklearn.datasets import load_digits

    if split_by not in SPLITS:
        raise ValueError(f"split_by: expected one of {SPLITS}, got {split_by!r}")
    cfg = cfg or DigitEvents()
    digits = load_digits()
    idx = train_test_indices(digits.target, train)
    if check_int("limit", limit, optional=True) is not None:
        idx = idx[:limit]
    streams = simulate_saccades(digits.images[idx], seed=seed, cfg=cfg, sample_ids=idx)
    frames = np.stack([events_to_frames(ev, T, cfg.sensor, cfg.sensor, split_by) for ev in streams])
    if frames.max(initial=0) > 255:
        raise ValueError(f"contrast: {cfg.contrast} makes more than 255 events per pixel and frame; raise it")
    return torch.from_numpy(frames.astype(np.uint8)), torch.from_numpy(digits.target[idx].astype(np.int64))


def event_digits(root=None, T: int = 8, size: int = 32, split_by: str = "number", seed: int = 0,
                 limit: Optional[int] = None, max_shift: int = 2) -> DataBundle:
    """The ``event-digits`` registry entry (``root`` is ignored: nothing is read from disk).

    Samples are uint8 counts ``[T, 2, 32, 32]`` in memory; ``prepare`` makes them float, area-resizes them to
    ``size`` (e.g. 48 for VGGSNN) and, in training, rolls them by up to ``max_shift`` pixels (no mirroring:
    a mirrored digit is not the same digit).
    """
    check_int("size", size)
    cfg = DigitEvents()
    x_tr, y_tr = digit_frames(True, T, split_by, seed, cfg, limit)
    x_te, y_te = digit_frames(False, T, split_by, seed, cfg, limit)
    return DataBundle(name="event-digits", train=TensorDataset(x_tr, y_tr), test=TensorDataset(x_te, y_te),
                      num_classes=NUM_CLASSES, in_channels=2, input_size=size, event=True,
                      prepare=event_prepare(size=None if size == cfg.sensor else size, max_shift=max_shift,
                                            flip_p=0.0))
