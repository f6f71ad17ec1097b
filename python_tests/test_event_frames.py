"""Events → frames (hand-counted), resize, normalisation, the frame cache and the two folder datasets."""
import numpy as np
import pytest
import torch

from event_files import aedat31_packet, dvs128_address, polarity_word, write_aedat2, write_aedat31
from fastlif.data.cifar10_dvs import CIFAR10DVS, CLASSES
from fastlif.data.dvs_gesture import DVSGesture, read_labels
from fastlif.data.aedat import Events
from fastlif.data.frames import (FrameCache, events_to_frames, normalize_frames, resize_frames, slice_bounds)


def _events(t, x, y, p):
    return Events(np.asarray(t, np.int64), np.asarray(x, np.int16), np.asarray(y, np.int16), np.asarray(p, np.int8))


# Seven events on a 3x2 sensor (x in 0..2, y in 0..1).
EV = _events(t=[0, 1, 2, 10, 11, 20, 30], x=[0, 0, 2, 1, 1, 2, 0], y=[0, 0, 1, 1, 1, 0, 1], p=[1, 1, 0, 1, 0, 0, 1])


def test_split_by_number_hand_counted():
    # N=7, T=3: floor(7/3)=2 events per frame, the last frame takes the remainder: [0,2) [2,4) [4,7)
    j_l, j_r = slice_bounds(EV.t, 3, "number")
    assert j_l.tolist() == [0, 2, 4] and j_r.tolist() == [2, 4, 7]
    f = events_to_frames(EV, 3, 2, 3, "number")
    assert f.shape == (3, 2, 2, 3) and f.dtype == np.float32
    expect = np.zeros((3, 2, 2, 3), np.float32)
    expect[0, 1, 0, 0] = 2          # events 0, 1: ON at (x0, y0) twice
    expect[1, 0, 1, 2] = 1          # event 2: OFF at (x2, y1)
    expect[1, 1, 1, 1] = 1          # event 3: ON at (x1, y1)
    expect[2, 0, 1, 1] = 1          # event 4: OFF at (x1, y1)
    expect[2, 0, 0, 2] = 1          # event 5: OFF at (x2, y0)
    expect[2, 1, 1, 0] = 1          # event 6: ON at (x0, y1)
    np.testing.assert_array_equal(f, expect)


def test_split_by_time_hand_counted():
    # t from 0 to 30, T=3: dt = 10, frames [0,10) [10,20) [20, end]
    j_l, j_r = slice_bounds(EV.t, 3, "time")
    assert j_l.tolist() == [0, 3, 5] and j_r.tolist() == [3, 5, 7]
    f = events_to_frames(EV, 3, 2, 3, "time")
    assert f.sum(axis=(1, 2, 3)).tolist() == [3, 2, 2]
    assert f[0, 1, 0, 0] == 2 and f[0, 0, 1, 2] == 1
    assert f[1, 1, 1, 1] == 1 and f[1, 0, 1, 1] == 1


def test_split_by_time_sorts_unordered_events_and_allows_empty_frames():
    ev = _events(t=[30, 0, 1], x=[0, 1, 2], y=[0, 0, 0], p=[1, 1, 1])
    f = events_to_frames(ev, 3, 1, 3, "time")   # dt = 10: frame 1 ([10, 20)) is empty
    assert f.sum(axis=(1, 2, 3)).tolist() == [2, 0, 1]
    assert f[2, 1, 0, 0] == 1


def test_frames_reject_bad_arguments():
    with pytest.raises(ValueError, match="split_by"):
        events_to_frames(EV, 3, 2, 3, "count")
    with pytest.raises(ValueError, match="T"):
        events_to_frames(EV, 0, 2, 3)
    with pytest.raises(ValueError, match="outside"):
        events_to_frames(EV, 3, 2, 2)


def test_resize_area_and_normalize():
    f = torch.zeros(2, 2, 4, 4)
    f[0, 1, :2, :2] = torch.tensor([[1.0, 3.0], [0.0, 4.0]])   # one 2x2 block averages to 2
    f[1, 0, 2:, 2:] = 8.0
    r = resize_frames(f, 2)
    assert r.shape == (2, 2, 2, 2)
    assert r[0, 1, 0, 0] == 2.0 and r[0].sum() == 2.0
    assert r[1, 0, 1, 1] == 8.0
    n = normalize_frames(r, "max")
    assert n[0].max() == 1.0 and n[1].max() == 1.0
    assert torch.equal(normalize_frames(torch.zeros(1, 2, 2, 2), "max"), torch.zeros(1, 2, 2, 2))
    with pytest.raises(ValueError, match="normalize"):
        normalize_frames(r, "zscore")


def test_frame_cache_writes_once_and_never_caches_a_failure(tmp_path):
    cache = FrameCache(tmp_path / "c")
    calls = []

    def make():
        calls.append(1)
        return np.arange(6, dtype=np.float32).reshape(2, 3)

    a = cache.get("cls/s0", make)
    b = cache.get("cls/s0", make)
    np.testing.assert_array_equal(a, b)
    assert len(calls) == 1
    assert sorted(p.name for p in (tmp_path / "c" / "cls").iterdir()) == ["s0.npy"]  # no temporary left over

    def broken():
        raise ValueError("corrupt source")

    with pytest.raises(ValueError, match="corrupt source"):
        cache.get("cls/s1", broken)
    assert not cache.path("cls/s1").exists()
    cache.path("cls/s0").write_bytes(b"garbage")
    with pytest.raises(ValueError, match="s0.npy"):
        cache.get("cls/s0", make)


def _cifar_folder(root, per_class=10, n_events=200):
    rng = np.random.default_rng(0)
    for c in CLASSES:
        (root / c).mkdir(parents=True)
        for i in range(per_class):
            x, y, p = rng.integers(0, 128, n_events), rng.integers(0, 128, n_events), rng.integers(0, 2, n_events)
            write_aedat2(root / c / f"cifar10_{c}_{i}.aedat", dvs128_address(x, y, p), np.arange(n_events) * 10)


def test_cifar10_dvs_split_frames_and_cache(tmp_path):
    root = tmp_path / "CIFAR10DVS"
    _cifar_folder(root)
    test = CIFAR10DVS(root, train=False, T=4, size=16)
    train = CIFAR10DVS(root, train=True, T=4, size=16)
    # one tenth per class in sample-number order: sample 0 is test, 1..9 (not 1, 10, 2, ...) are training
    assert len(test) == 10 and len(train) == 90
    assert [p.name for p, _ in test.samples[:2]] == ["cifar10_airplane_0.aedat", "cifar10_automobile_0.aedat"]
    assert [p.name for p, _ in train.samples[:9]] == [f"cifar10_airplane_{i}.aedat" for i in range(1, 10)]
    assert [lab for _, lab in test.samples] == list(range(10))
    x, y = train[3]
    assert x.shape == (4, 2, 16, 16) and x.dtype == torch.float32 and y == 0
    # area resize 128 -> 16 averages 8x8 blocks: 200 events / 64 per frame set, 50 events per frame
    assert torch.allclose(x.sum(dim=(1, 2, 3)), torch.full((4,), 50 / 64))
    cached = list((root / ".fastlif_frames").rglob("*.npy"))
    assert len(cached) == 1
    x2, _ = train[3]
    assert torch.equal(x, x2)


def test_cifar10_dvs_truncated_sample_is_named_and_not_cached(tmp_path):
    root = tmp_path / "d"
    _cifar_folder(root, per_class=2, n_events=20)
    bad = root / "cat" / "cifar10_cat_1.aedat"
    bad.write_bytes(bad.read_bytes()[:-5])
    ds = CIFAR10DVS(root, train=True, T=2, size=8, cache_dir=tmp_path / "cache")
    i = [p for p, _ in ds.samples].index(bad)
    with pytest.raises(ValueError, match="cifar10_cat_1.aedat"):
        ds[i]
    assert not list((tmp_path / "cache").rglob("*.npy"))


def test_cifar10_dvs_bad_root(tmp_path):
    with pytest.raises(ValueError, match="class folder"):
        CIFAR10DVS(tmp_path, train=True)


def test_dvs_gesture_labels_trials_and_slicing(tmp_path):
    folder = tmp_path / "DvsGesture"
    folder.mkdir()
    # one recording, 300 events at t = 0, 10, ..., 2990; two gestures: class 3 in [500, 1500), class 11 in [2000, 2600)
    n = 300
    t = np.arange(n) * 10
    x, y, p = np.arange(n) % 128, (np.arange(n) * 7) % 128, np.arange(n) % 2
    words = polarity_word(x, y, p)
    write_aedat31(folder / "user01_led.aedat", [aedat31_packet(1, words[:100], t[:100]),
                                                aedat31_packet(1, words[100:], t[100:])])
    (folder / "user01_led_labels.csv").write_text("class,startTime_usec,endTime_usec\n3,500,1500\n11,2000,2600\n")
    (folder / "trials_to_train.txt").write_text("user01_led.aedat\n")
    (folder / "trials_to_test.txt").write_text("\n")
    ds = DVSGesture(tmp_path, train=True, T=2, size=128)
    assert len(ds) == 2
    x0, y0 = ds[0]
    x1, y1 = ds[1]
    assert (y0, y1) == (2, 10)
    # gesture 0 holds events 50..149 (100 events) -> 50 per frame; gesture 1 events 200..259 -> 30 per frame
    assert x0.sum(dim=(1, 2, 3)).tolist() == [50.0, 50.0]
    assert x1.sum(dim=(1, 2, 3)).tolist() == [30.0, 30.0]
    # event 50: x = 50, y = 350 % 128 = 94, p = 0 -> frame 0, channel 0
    assert x0[0, 0, 94, 50] == 1.0
    assert len(DVSGesture(tmp_path, train=False, T=2)) == 0


def test_dvs_gesture_bad_labels(tmp_path):
    f = tmp_path / "x_labels.csv"
    f.write_text("class,startTime_usec,endTime_usec\n12,1,2\n")
    with pytest.raises(ValueError, match="x_labels.csv:2"):
        read_labels(f)
    with pytest.raises(ValueError, match="trials_to_train"):
        DVSGesture(tmp_path, train=True)


def test_registry_builders(tmp_path):
    from fastlif.data import get_dataset

    root = tmp_path / "CIFAR10DVS"
    _cifar_folder(root, per_class=10, n_events=40)
    b = get_dataset("cifar10-dvs", root, T=2, size=8)
    assert (b.name, b.num_classes, b.in_channels, b.input_size, b.event) == ("cifar10-dvs", 10, 2, 8, True)
    assert len(b.train) == 90 and len(b.test) == 10
    x = torch.stack([b.train[i][0] for i in range(3)])
    assert b.prepare(x, False, None).shape == (3, 2, 2, 8, 8)
    with pytest.raises(ValueError, match="root"):
        get_dataset("cifar10-dvs")
    with pytest.raises(ValueError, match="root"):
        get_dataset("dvs128-gesture")


@pytest.mark.parametrize("cls", [CIFAR10DVS, DVSGesture])
@pytest.mark.parametrize("kwargs, name", [(dict(split_by="frames"), "split_by"), (dict(normalize="l2"), "normalize"),
                                          (dict(T=0), "T"), (dict(size=0), "size")])
def test_event_datasets_name_the_bad_frame_option(tmp_path, cls, kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}: expected"):
        cls(tmp_path, **kwargs)


def test_cifar10_dvs_replaced_recording_is_decoded_afresh_not_served_stale(tmp_path):
    root = tmp_path / "d"
    _cifar_folder(root, per_class=2, n_events=20)
    ds = CIFAR10DVS(root, train=True, T=2, size=8, cache_dir=tmp_path / "elsewhere")  # cache outside the data
    path = ds.samples[0][0]
    before, _ = ds[0]
    n = 400  # the recording replaced by one with 20x the events
    rng = np.random.default_rng(1)
    write_aedat2(path, dvs128_address(rng.integers(0, 128, n), rng.integers(0, 128, n), rng.integers(0, 2, n)),
                 np.arange(n))
    after, _ = ds[0]
    assert float(after.sum()) == pytest.approx(20 * float(before.sum()))
    assert len(list((tmp_path / "elsewhere").rglob("*.npy"))) == 1  # the stale frames were deleted
    assert not (root / ".fastlif_frames").exists()
