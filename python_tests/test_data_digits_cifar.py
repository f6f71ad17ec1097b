"""The embedded digits split, CIFAR pickle-batch reading (fabricated files in the real format), batch augmentation."""
import pickle

import numpy as np
import pytest
import torch

from fastlif.data import DATASETS, get_dataset, names
from fastlif.data.augment import cutout, image_prepare, normalize, random_crop, random_hflip
from fastlif.data.cifar import CIFAR10_MEAN, CIFAR10_STD, load_cifar_tensors


# ---- digits ------------------------------------------------------------------------------------------------------
def test_digits_split_is_fixed_stratified_and_scaled():
    a, b = get_dataset("digits"), get_dataset("digits")
    x_tr, y_tr = a.train.tensors
    x_te, y_te = a.test.tensors
    assert len(y_tr) + len(y_te) == 1797 and len(y_te) == 450
    assert x_tr.shape[1:] == (1, 8, 8) and a.input_size == 8 and a.in_channels == 1 and a.num_classes == 10
    assert 0.0 <= float(x_tr.min()) and float(x_tr.max()) == 1.0
    assert torch.equal(x_te, b.test.tensors[0]) and torch.equal(y_tr, b.train.tensors[1])  # same split each time
    # stratified: every class holds about a quarter of its images in the test split
    for c in range(10):
        frac = float((y_te == c).sum()) / float((y_te == c).sum() + (y_tr == c).sum())
        assert abs(frac - 0.25) < 0.02
    # train and test images are disjoint samples (no image of the test split equals one used for training,
    # except genuine duplicates in the source data, which are rare)
    same = (x_te.flatten(1)[:, None, :] == x_tr.flatten(1)[None, :, :]).all(-1).any(1)
    assert int(same.sum()) <= 2


def test_digits_options():
    d = get_dataset("digits", size=16, train_limit=50, test_limit=20)
    assert d.train.tensors[0].shape == (50, 1, 16, 16) and len(d.test) == 20 and d.input_size == 16
    with pytest.raises(ValueError, match="size"):
        get_dataset("digits", size=0)
    with pytest.raises(ValueError, match="train_limit"):
        get_dataset("digits", train_limit=0)


def test_registry_is_a_plain_dict():
    assert {"digits", "cifar10", "cifar100"} <= set(names())
    assert isinstance(DATASETS, dict)
    with pytest.raises(ValueError, match="data: unknown dataset 'nope'"):
        get_dataset("nope")


# ---- CIFAR -------------------------------------------------------------------------------------------------------
def _write_batch(path, n, label_key, seed):
    rng = np.random.default_rng(seed)
    data = rng.integers(0, 256, size=(n, 3072), dtype=np.uint8)
    labels = rng.integers(0, 10, size=n).tolist()
    with open(path, "wb") as f:
        pickle.dump({b"data": data, label_key: labels, b"batch_label": b"fake"}, f)
    return data, labels


@pytest.fixture
def cifar10_root(tmp_path):
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    written = [_write_batch(folder / f"data_batch_{i}", 4, b"labels", i) for i in range(1, 6)]
    written.append(_write_batch(folder / "test_batch", 3, b"labels", 9))
    return tmp_path, written


def test_cifar10_reads_pickle_batches(cifar10_root):
    root, written = cifar10_root
    x_tr, y_tr, x_te, y_te = load_cifar_tensors("cifar10", root)
    assert x_tr.shape == (20, 3, 32, 32) and x_tr.dtype == torch.uint8 and x_te.shape == (3, 3, 32, 32)
    # row-major 3072 bytes = R plane, G plane, B plane of 32x32 each
    data5, labels5 = written[4]
    assert x_tr[16, 1, 0, 5] == int(data5[0, 1024 + 5])
    assert x_tr[19, 2, 31, 31] == int(data5[3, 3071])
    assert y_tr[16:].tolist() == labels5 and y_te.tolist() == written[5][1]
    bundle = get_dataset("cifar10", root=root / "cifar-10-batches-py")  # the inner folder works too
    assert bundle.num_classes == 10 and bundle.input_size == 32 and len(bundle.train) == 20


def test_cifar100_uses_fine_labels(tmp_path):
    folder = tmp_path / "cifar-100-python"
    folder.mkdir()
    _, tr_labels = _write_batch(folder / "train", 5, b"fine_labels", 1)
    _write_batch(folder / "test", 2, b"fine_labels", 2)
    bundle = get_dataset("cifar100", root=tmp_path)
    assert bundle.num_classes == 100 and bundle.train.tensors[1].tolist() == tr_labels


def test_cifar_missing_files_name_the_file(cifar10_root, tmp_path):
    root, _ = cifar10_root
    (root / "cifar-10-batches-py" / "data_batch_3").unlink()
    with pytest.raises(FileNotFoundError, match="data_batch_3"):
        get_dataset("cifar10", root=root)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        get_dataset("cifar10", root=tmp_path / "nowhere")
    with pytest.raises(ValueError, match="root"):
        get_dataset("cifar10")
    (root / "cifar-10-batches-py" / "data_batch_3").write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="data_batch_3"):
        get_dataset("cifar10", root=root)


# ---- augmentation ------------------------------------------------------------------------------------------------
def test_random_crop_is_a_shifted_window_with_zero_padding():
    x = torch.arange(2 * 1 * 6 * 6, dtype=torch.float32).reshape(2, 1, 6, 6) + 1  # all > 0
    out = random_crop(x, 2, torch.Generator().manual_seed(0))
    assert out.shape == x.shape
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for b in range(2):
        matches = [(dy, dx) for dy in range(5) for dx in range(5)
                   if torch.equal(out[b], padded[b, :, dy:dy + 6, dx:dx + 6])]
        assert len(matches) == 1
    # offsets cover the whole range over many images
    big = torch.ones(400, 1, 4, 4)
    zero_rows = (random_crop(big, 1, torch.Generator().manual_seed(1))[:, 0].sum(2) == 0).any(1).float().mean()
    assert 0.4 < float(zero_rows) < 0.9  # offset 0 or 2 of 3 exposes a padded row: 2/3 of images


def test_hflip_mirrors_about_half_of_the_images():
    x = torch.randn(200, 2, 3, 4, generator=torch.Generator().manual_seed(0))
    out = random_hflip(x, torch.Generator().manual_seed(1))
    flipped = torch.tensor([torch.equal(o, xi.flip(-1)) for o, xi in zip(out, x)])
    kept = torch.tensor([torch.equal(o, xi) for o, xi in zip(out, x)])
    assert bool((flipped | kept).all()) and 70 < int(flipped.sum()) < 130


def test_cutout_zeros_one_clipped_square():
    x = torch.ones(300, 3, 32, 32)
    out = cutout(x, 16, torch.Generator().manual_seed(0))
    holes = (out == 0).all(1)  # same hole in every channel
    assert torch.equal((out == 0).any(1), holes)
    areas = holes.flatten(1).sum(1)
    assert int(areas.max()) == 256 and int(areas.min()) >= 64  # a corner centre keeps at least 8x8 inside
    rows, cols = holes.any(2), holes.any(1)
    assert torch.equal(holes, rows[:, :, None] & cols[:, None, :])  # a rectangle


def test_prepare_cuts_out_before_normalising_so_the_hole_is_minus_mean_over_std():
    # TET/SLT build_cifar: Cutout on [0, 1] pixels, then Normalize; a white image keeps (1 − mean)/std outside the
    # hole and gets −mean/std inside it (no crop here, so no padded border either).
    x = torch.full((64, 3, 8, 8), 255, dtype=torch.uint8)
    prep = image_prepare(CIFAR10_MEAN, CIFAR10_STD, crop_padding=0, flip=False, cutout_size=4)
    out = prep(x, True, torch.Generator().manual_seed(0))
    mean, std = torch.tensor(CIFAR10_MEAN)[:, None, None], torch.tensor(CIFAR10_STD)[:, None, None]
    hole = torch.isclose(out, (-mean / std).expand_as(out)).all(1)
    kept = torch.isclose(out, ((1 - mean) / std).expand_as(out)).all(1)
    assert bool((hole ^ kept).all()) and int(hole.flatten(1).sum(1).min()) >= 4


def test_normalize_and_prepare_pipeline():
    x = torch.full((2, 3, 4, 4), 255, dtype=torch.uint8)
    n = normalize(x.float() / 255, CIFAR10_MEAN, CIFAR10_STD)
    assert torch.allclose(n[:, 0], torch.full_like(n[:, 0], (1 - 0.4914) / 0.2023))
    prep = image_prepare(CIFAR10_MEAN, CIFAR10_STD, crop_padding=4, cutout_size=2)
    assert torch.allclose(prep(x, False, None), n)  # evaluation: scale and normalise only
    g1, g2 = torch.Generator().manual_seed(5), torch.Generator().manual_seed(5)
    assert torch.equal(prep(x, True, g1), prep(x, True, g2))  # seeded augmentation repeats exactly
    with pytest.raises(ValueError, match="mean/std"):
        normalize(x.float(), (0.5,), (0.5,))
    with pytest.raises(ValueError, match="x"):
        random_crop(torch.zeros(3, 4, 4), 1)
