"""TET's flip-and-roll on event batches: each sample is one flip/roll of itself, the same for all its frames."""
import pytest
import torch

from fastlif.data.event_augment import event_prepare, random_flip_roll


def _match(out, x, max_shift):
    """The (flip, dy, dx) with out == roll(flip?(x)), or None."""
    for flip in (False, True):
        src = x.flip(-1) if flip else x
        for dy in range(-max_shift, max_shift + 1):
            for dx in range(-max_shift, max_shift + 1):
                if torch.equal(out, torch.roll(src, shifts=(dy, dx), dims=(-2, -1))):
                    return flip, dy, dx
    return None


def test_each_sample_is_a_flip_and_roll_of_itself():
    g = torch.Generator().manual_seed(0)
    x = torch.randn(16, 3, 2, 9, 11)          # [B, T, C, H, W], all pixels distinct
    out = random_flip_roll(x, max_shift=3, generator=g)
    found = [_match(out[b], x[b], 3) for b in range(16)]
    assert all(f is not None for f in found)
    assert len(set(found)) > 4                 # the draws differ between samples
    assert {f[0] for f in found} == {False, True}


def test_identity_and_pure_flip():
    x = torch.randn(4, 2, 2, 5, 5)
    assert torch.equal(random_flip_roll(x, max_shift=0, flip_p=0.0), x)
    assert torch.equal(random_flip_roll(x, max_shift=0, flip_p=1.0), x.flip(-1))


def test_seeded_generator_reproduces():
    x = torch.randn(8, 2, 2, 6, 6)
    a = random_flip_roll(x, generator=torch.Generator().manual_seed(5))
    b = random_flip_roll(x, generator=torch.Generator().manual_seed(5))
    assert torch.equal(a, b)


def test_prepare_resizes_then_augments_only_in_training():
    x = torch.randint(0, 4, (2, 3, 2, 8, 8), dtype=torch.uint8)
    prep = event_prepare(size=4, max_shift=1)
    test_x = prep(x, False, None)
    assert test_x.dtype == torch.float32 and test_x.shape == (2, 3, 2, 4, 4)
    torch.testing.assert_close(test_x, x.float().reshape(2, 3, 2, 4, 2, 4, 2).mean((4, 6)))
    train_x = prep(x, True, torch.Generator().manual_seed(1))
    assert all(_match(train_x[b], test_x[b], 1) is not None for b in range(2))


def test_bad_arguments():
    with pytest.raises(ValueError, match="x"):
        random_flip_roll(torch.zeros(3, 3))
    with pytest.raises(ValueError, match="max_shift"):
        random_flip_roll(torch.zeros(1, 2, 3, 3), max_shift=-1)
    with pytest.raises(ValueError, match="flip_p"):
        random_flip_roll(torch.zeros(1, 2, 3, 3), flip_p=2.0)


def test_crop_flip_is_tebn_pad4_crop_then_flip_same_for_all_frames():
    from fastlif.data.event_augment import random_crop_flip
    x = torch.arange(6 * 3 * 2 * 8 * 8, dtype=torch.float32).reshape(6, 3, 2, 8, 8) + 1
    out = random_crop_flip(x, padding=2, generator=torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(x, (2, 2, 2, 2))
    for o, p in zip(out, padded):
        matches = [(dy, dx, f) for dy in range(5) for dx in range(5) for f in (False, True)
                   if torch.equal(o, (lambda w: w.flip(-1) if f else w)(p[..., dy:dy + 8, dx:dx + 8]))]
        assert matches                             # one window and one flip for every frame and channel
    assert (out == 0).any()                        # some window reaches into the zero padding
    prep = event_prepare(augment="crop-flip", crop_padding=2, flip_p=0.0)
    y = prep(x, True, torch.Generator().manual_seed(1))
    assert not torch.equal(y, x) and torch.equal(prep(x, False, None), x)
    with pytest.raises(ValueError, match="augment"):
        event_prepare(augment="tebn")
