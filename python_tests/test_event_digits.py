"""The embedded event-digits set: simulated DVS saccades over sklearn digits, deterministic from a seed."""
import numpy as np
import pytest
import torch

from fastlif.data.event_digits import (DigitEvents, digit_frames, event_digits, simulate_saccades,
                                       train_test_indices)
from fastlif.data.frames import events_to_frames


def _square():
    img = np.zeros((1, 8, 8))
    img[0, 2:6, 2:6] = 16.0
    return img


def test_a_still_image_makes_no_events():
    ev = simulate_saccades(_square(), cfg=DigitEvents(amplitude=0.0))[0]
    assert len(ev) == 0


def test_moving_square_gives_on_and_off_events_at_its_edges():
    cfg = DigitEvents(mismatch=0.0)
    ev = simulate_saccades(_square(), cfg=cfg)[0]
    assert 100 < len(ev) < 5000
    assert set(np.unique(ev.p).tolist()) == {0, 1}
    assert np.all(np.diff(ev.t) >= 0) and ev.t.min() >= 0 and ev.t.max() <= cfg.steps * cfg.step_us
    # the square spans canvas pixels 8..23 (scale 3, 8 px padding); events stay near its border, never far off
    assert ev.x.min() >= 3 and ev.x.max() <= 28 and ev.y.min() >= 3 and ev.y.max() <= 28
    # at its centre the intensity never changes
    centre = (ev.x >= 13) & (ev.x <= 18) & (ev.y >= 13) & (ev.y <= 18)
    assert not centre.any()
    # a closed path returns the scene to its start: ON and OFF events balance at every pixel (up to rounding
    # to whole thresholds, at most one event per pixel)
    net = np.zeros((32, 32), int)
    np.add.at(net, (ev.y, ev.x), np.where(ev.p == 1, 1, -1))
    assert np.abs(net).max() <= 1


def test_same_seed_same_events_and_sample_independence():
    imgs = np.repeat(_square(), 3, axis=0)
    a = simulate_saccades(imgs, seed=3, sample_ids=[10, 11, 12])
    b = simulate_saccades(imgs[1:2], seed=3, sample_ids=[11])
    c = simulate_saccades(imgs, seed=4, sample_ids=[10, 11, 12])
    np.testing.assert_array_equal(a[1].t, b[0].t)
    np.testing.assert_array_equal(a[1].x, b[0].x)
    assert len(a[0]) != len(a[1]) or not np.array_equal(a[0].x, a[1].x)   # per-sample jitter
    assert len(a[1]) != len(c[1]) or not np.array_equal(a[1].x, c[1].x)   # per-seed jitter


def test_split_is_stratified_and_disjoint():
    labels = np.repeat(np.arange(10), 10)
    tr, te = train_test_indices(labels, True), train_test_indices(labels, False)
    assert len(tr) == 80 and len(te) == 20 and not set(tr) & set(te)
    assert np.bincount(labels[te]).tolist() == [2] * 10


def test_frames_count_every_event():
    x, y = digit_frames(False, T=4, seed=0, limit=6)
    assert x.shape == (6, 4, 2, 32, 32) and x.dtype == torch.uint8 and y.shape == (6,)
    from sklearn.datasets import load_digits
    idx = train_test_indices(load_digits().target, False)[:6]
    streams = simulate_saccades(load_digits().images[idx], seed=0, sample_ids=idx)
    for i, ev in enumerate(streams):
        assert int(x[i].sum()) == len(ev)
        np.testing.assert_array_equal(x[i].numpy(), events_to_frames(ev, 4, 32, 32, "number"))
    assert y.tolist() == load_digits().target[idx].tolist()


def test_bundle_for_vggsnn_sized_input():
    b = event_digits(T=5, size=48, limit=8)
    assert b.name == "event-digits" and b.event and b.in_channels == 2 and b.input_size == 48
    assert b.num_classes == 10 and len(b.train) == 8 and len(b.test) == 8
    x, _ = b.train[0:3]
    out = b.prepare(x, False, None)
    assert out.shape == (3, 5, 2, 48, 48) and out.dtype == torch.float32
    # area resizing keeps the event total up to the area ratio (32/48)^2
    torch.testing.assert_close(out.sum((1, 2, 3, 4)), x.float().sum((1, 2, 3, 4)) * (48 / 32) ** 2)
    with pytest.raises(ValueError, match="size"):
        event_digits(size=0, limit=1)


def test_bad_arguments():
    with pytest.raises(ValueError, match="images"):
        simulate_saccades(np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match="sensor"):
        DigitEvents(sensor=8)
    with pytest.raises(ValueError, match="contrast"):
        DigitEvents(contrast=0.0)
    with pytest.raises(ValueError, match="split_by"):
        digit_frames(split_by="both", limit=1)
