"""Embedded SR data: the split, the degradation, and random-access batches."""
import numpy as np
import pytest

from jresgen.data.photos import SR_TRAIN_PHOTOS, SR_VALID_PHOTOS, load_photo
from jresgen.data.resize import bicubic_resize, degrade, mod_crop
from jresgen.data.sr import SRTrainSource, make_pairs


def test_split_is_by_image_and_disjoint():
    assert not set(SR_TRAIN_PHOTOS) & set(SR_VALID_PHOTOS)
    for name in SR_VALID_PHOTOS:
        assert load_photo(name).ndim == 3


def test_degrade_shapes_and_levels():
    hr = mod_crop(load_photo("chelsea").astype(np.float32) / 255, 3)
    lr = degrade(hr, 3)
    assert lr.shape == (hr.shape[0] // 3, hr.shape[1] // 3, 3)
    np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)  # on uint8 levels


def test_downscaling_antialiases():
    # A checkerboard at the Nyquist rate must average to grey, not alias to black or white.
    board = (np.indices((64, 64)).sum(0) % 2).astype(np.float32)[..., None]
    small = bicubic_resize(board, 16, 16)
    np.testing.assert_allclose(small[2:-2, 2:-2], 0.5, atol=0.02)


@pytest.fixture(scope="module")
def source():
    images = {n: load_photo(n) for n in ("astronaut", "rocket")}
    return SRTrainSource(make_pairs(images, 2), scale=2, patch_size=16, batch_size=6, seed=3)


def test_batches_are_a_pure_function_of_step(source):
    a, b, c = source.batch(5), source.batch(5), source.batch(6)
    np.testing.assert_array_equal(a["lr"], b["lr"])
    assert not np.array_equal(a["lr"], c["lr"])
    assert a["lr"].shape == (6, 16, 16, 3) and a["hr"].shape == (6, 32, 32, 3)


def test_crops_are_aligned(source):
    batch = source.batch(0)
    for lr, hr in zip(batch["lr"], batch["hr"]):
        # Degrading the HR crop gives the LR crop away from the crop border.
        np.testing.assert_allclose(degrade(hr, 2)[3:-3, 3:-3], lr[3:-3, 3:-3], atol=2 / 255)


def test_too_small_image_is_rejected():
    pairs = make_pairs({"chelsea": load_photo("chelsea")}, 2)
    with pytest.raises(ValueError, match="smaller than the LR patch"):
        SRTrainSource(pairs, 2, patch_size=1000, batch_size=1, seed=0)
