"""scikit-learn's digits: the stratified split, the 17 levels kept by resizing, and the train
source's batches as a pure function of (seed, step) with one pass over the data per epoch."""
import numpy as np
import pytest

from conftest import CONFIGS
from jresgen import data as datasets
from jresgen.config import load_config
from jresgen.data.digits import LEVELS, DigitsTrainSource, load_split, resize_levels


@pytest.mark.parametrize("method", ["nearest", "bilinear"])
def test_split_is_stratified_and_keeps_the_levels(method):
    (tr_x, tr_y), (te_x, te_y) = load_split(16, method, 0.25, 0)
    assert len(tr_y) + len(te_y) == 1797 and len(te_y) == 450
    assert tr_x.shape[1:] == te_x.shape[1:] == (16, 16)
    assert set(np.unique(np.concatenate([tr_x.ravel(), te_x.ravel()]))) <= set(range(LEVELS))
    # every class has (within one image) a quarter of its digits in the test split
    counts = np.bincount(np.concatenate([tr_y, te_y]), minlength=10)
    assert np.all(np.abs(np.bincount(te_y, minlength=10) - counts / 4) <= 1)
    # the same seed, the same split
    assert np.array_equal(load_split.__wrapped__(16, method, 0.25, 0)[1][0], te_x)


def test_nearest_resize_repeats_pixels():
    levels = np.arange(64, dtype=np.uint8).reshape(1, 8, 8) % LEVELS
    up = resize_levels(levels, 32, "nearest")
    assert np.array_equal(up[0, ::4, ::4], levels[0])
    assert np.array_equal(up[0, 3::4, 3::4], levels[0])


def test_resize_rejects_bad_sizes():
    with pytest.raises(ValueError, match="multiple of 8"):
        resize_levels(np.zeros((1, 8, 8), np.uint8), 20, "nearest")


def test_batches_are_a_pure_function_of_seed_and_step_and_cover_each_epoch():
    n, b = 10, 4
    levels = np.arange(n, dtype=np.uint8)[:, None, None] * np.ones((1, 8, 8), np.uint8)
    labels = np.arange(n) % 10
    source = DigitsTrainSource(levels, labels, b, seed=3)
    again = DigitsTrainSource(levels, labels, b, seed=3)
    for step in (0, 1, 7):
        first, second = source.batch(step), again.batch(step)
        assert np.array_equal(first["image"], second["image"])
        assert first["image"].shape == (b, 8, 8, 1) and first["image"].dtype == np.float32
    seen = np.concatenate([source.batch(s)["label"] for s in range(3)])  # 12 samples
    assert sorted(seen[:n]) == list(range(n))  # epoch 0 is a permutation
    assert not np.array_equal(source.batch(0)["label"], DigitsTrainSource(
        levels, labels, b, seed=4).batch(0)["label"])


def test_shifted_batches_stay_on_the_levels():
    (tr_x, tr_y), _ = load_split(16, "bilinear", 0.25, 0)
    batch = DigitsTrainSource(tr_x, tr_y, 16, seed=0, max_shift=2).batch(5)
    values = np.unique(batch["image"] * (LEVELS - 1))
    assert np.allclose(values, np.round(values)) and values.max() <= LEVELS - 1


def test_digits_configs_build():
    config = load_config(f"{CONFIGS / 'vae_digits.py'}:tiny")
    source, test = datasets.build(config)
    assert source.batch(0)["image"].shape == (config.batch_size, 16, 16, 1)
    assert test["image"].shape == (450, 16, 16, 1) and test["label"].shape == (450,)
