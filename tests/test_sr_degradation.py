"""The degradation models: resize kernels against JAX/scikit-image/Pillow, blur kernels, noise and
JPEG ranges, per-sample determinism, and the eval panel against the libraries it names."""
import math
import re

import jax
import numpy as np
import pytest
from PIL import Image

from conftest import ROOT, tiny_sr_config
from jresgen import data as datasets
from jresgen.data.degradation import (RANDOM_DEFAULTS, RESIZE_METHODS, RandomDegradation,
                                      add_noise, gaussian_kernel, jpeg, resize, resize_matrix)
from jresgen.data.degradation_panel import PANEL, panel_lr
from jresgen.data.photos import load_photo
from jresgen.data.resize import mod_crop
from jresgen.data.sr import DegradingTrainSource
from jresgen.errors import UserError

RNG = np.random.default_rng(0)
IMAGE = RNG.uniform(size=(40, 52, 3)).astype(np.float32)


@pytest.mark.parametrize("method,jax_method", [("bicubic", "cubic"), ("bilinear", "linear")])
@pytest.mark.parametrize("size", [(20, 26), (13, 17), (80, 104)])
def test_antialiased_resize_is_jaxs(method, jax_method, size):
    ref = jax.image.resize(IMAGE, size + (3,), jax_method, antialias=True)
    np.testing.assert_allclose(resize(IMAGE, *size, method), ref, atol=1e-5)


def test_bilinear_without_antialias_is_skimage_interpolation():
    import skimage.transform
    ref = skimage.transform.resize(IMAGE, (20, 26, 3), order=1, anti_aliasing=False)
    np.testing.assert_allclose(resize(IMAGE, 20, 26, "bilinear_noaa"), ref, atol=1e-5)


def test_area_is_the_block_mean():
    ref = IMAGE.reshape(20, 2, 26, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(resize(IMAGE, 20, 26, "area"), ref, atol=1e-6)


def test_resize_without_antialias_samples_the_input():
    # At x3 each output centre falls on an input pixel: an interpolating kernel that is not
    # stretched returns that pixel (and aliases); antialiasing averages its neighbours.
    image = RNG.uniform(size=(63, 63, 1)).astype(np.float32)
    for method in ("bicubic_noaa", "bilinear_noaa"):
        np.testing.assert_allclose(resize(image, 21, 21, method), image[1::3, 1::3], atol=1e-6)
    assert not np.allclose(resize(image, 21, 21, "bicubic"), image[1::3, 1::3], atol=0.05)


@pytest.mark.parametrize("method", list(RESIZE_METHODS))
@pytest.mark.parametrize("sizes", [(40, 20), (88, 37), (44, 44), (20, 40)])
def test_resize_weights_are_normalised(method, sizes):
    np.testing.assert_allclose(resize_matrix(*sizes, method).sum(axis=1), 1.0, atol=1e-5)


@pytest.mark.parametrize("sx,sy,theta,size", [(0.5, 0.5, 0.0, 5), (1.2, 0.3, 0.7, 9),
                                              (3.0, 1.0, 2.0, 21)])
def test_gaussian_kernels_are_normalised_and_shaped(sx, sy, theta, size):
    k = gaussian_kernel(sx, sy, theta, size)
    assert k.shape == (size, size)
    assert abs(k.sum() - 1) < 1e-5 and (k >= 0).all()
    np.testing.assert_allclose(k, k[::-1, ::-1], atol=1e-7)  # point-symmetric


def test_isotropic_kernel_is_scipys_gaussian():
    from scipy import ndimage
    delta = np.zeros((9, 9), np.float32)
    delta[4, 4] = 1
    ref = ndimage.gaussian_filter(delta, 1.0, truncate=4.0 / 1.0)
    np.testing.assert_allclose(gaussian_kernel(1.0, 1.0, 0.0, 9), ref / ref.sum(), atol=1e-6)


def test_rotating_an_anisotropic_kernel_by_90_degrees_transposes_it():
    np.testing.assert_allclose(gaussian_kernel(2.0, 0.5, math.pi / 2, 11),
                               gaussian_kernel(2.0, 0.5, 0.0, 11).T, atol=1e-6)


def test_drawn_parameters_stay_in_their_ranges():
    r = dict(RANDOM_DEFAULTS, noise_prob=0.5, jpeg_prob=0.5, second_pass_prob=0.5,
             blur_sigma=(0.3, 0.9), jpeg_quality=(40, 60), noise_sigma=(2.0, 5.0),
             poisson_scale=(0.1, 0.2))
    d = RandomDegradation(r, scale=2)
    rng = np.random.default_rng(1)
    passes = [p for _ in range(300) for p in d.sample(rng, (64, 80, 3))]
    qualities = [p.jpeg_quality for p in passes if p.jpeg_quality]
    assert 40 <= min(qualities) and max(qualities) <= 60 and len(set(qualities)) > 10
    for kind, (lo, hi) in (("gaussian", (2.0, 5.0)), ("poisson", (0.1, 0.2))):
        levels = [p.noise_level for p in passes if p.noise == kind]
        assert levels and lo <= min(levels) and max(levels) <= hi
    assert {p.method for p in passes} == set(RESIZE_METHODS)
    assert {p.size for p in passes} > {(32, 40)}  # second passes go via intermediate sizes
    for p in passes:
        if p.kernel is not None:
            assert abs(p.kernel.sum() - 1) < 1e-5
            assert p.kernel.shape[0] <= 2 * math.ceil(3 * 0.9) + 1


@pytest.mark.parametrize("sigma", [2.0, 8.0])
def test_gaussian_noise_has_the_drawn_sigma(sigma):
    flat = np.full((128, 128, 3), 0.5, np.float32)
    noisy = add_noise(flat, "gaussian", sigma, False, np.random.default_rng(0))
    assert abs((noisy - flat).std() * 255 / sigma - 1) < 0.03
    gray = add_noise(flat, "gaussian", sigma, True, np.random.default_rng(0))
    np.testing.assert_array_equal(gray[..., 0], gray[..., 2])


def test_poisson_noise_grows_with_the_signal():
    rng = np.random.default_rng(0)
    dark, bright = (np.full((128, 128, 3), v, np.float32) for v in (0.05, 0.8))
    std = [(add_noise(x, "poisson", 1.0, False, rng) - x).std() for x in (dark, bright)]
    np.testing.assert_allclose(std, [math.sqrt(v / 255) for v in (0.05, 0.8)], rtol=0.05)


def test_jpeg_is_pillows_at_that_quality():
    import io
    photo = load_photo("chelsea")[:64, :64]
    buffer = io.BytesIO()
    Image.fromarray(photo).save(buffer, format="JPEG", quality=50)
    ref = np.asarray(Image.open(buffer), np.float32) / 255
    np.testing.assert_array_equal(jpeg(photo / 255.0, 50), ref)
    error = [np.abs(jpeg(photo / 255.0, q) - photo / 255.0).mean() for q in (20, 60, 95)]
    assert error[0] > error[1] > error[2]


@pytest.fixture(scope="module")
def real_source():
    config = tiny_sr_config(data__degradation="random", batch_size=8)
    return datasets.build(config)[0]


def test_random_source_is_a_pure_function_of_seed_step_index(real_source):
    a, b = real_source.batch(3), real_source.batch(3)
    np.testing.assert_array_equal(a["lr"], b["lr"])
    np.testing.assert_array_equal(a["hr"], b["hr"])
    assert not np.array_equal(a["lr"], real_source.batch(4)["lr"])
    assert a["lr"].shape == (8, 16, 16, 3) and a["hr"].shape == (8, 32, 32, 3)
    # Sample i does not depend on the batch size or on the samples made before it.
    half = DegradingTrainSource({n: load_photo(n) for n in ("astronaut", "rocket")},
                                real_source.degradation, 16, 4, real_source.seed)
    np.testing.assert_array_equal(half.batch(3)["lr"], a["lr"][:4])
    lr5, hr5 = real_source.sample(3, 5)
    np.testing.assert_array_equal(lr5, a["lr"][5])
    np.testing.assert_array_equal(hr5, a["hr"][5])


def test_random_lr_is_on_uint8_levels_and_aligned(real_source):
    batch = real_source.batch(0)
    np.testing.assert_allclose(batch["lr"] * 255, np.round(batch["lr"] * 255), atol=1e-4)
    # Degraded or not, each LR crop is closer to its own HR crop downscaled than to another's.
    small = batch["hr"].reshape(8, 16, 2, 16, 2, 3).mean(axis=(2, 4))
    own = np.abs(small - batch["lr"]).mean(axis=(1, 2, 3))
    other = np.abs(small - np.roll(batch["lr"], 1, axis=0)).mean(axis=(1, 2, 3))
    assert (own < other).all()


@pytest.mark.slow  # the data test above is what changes with "random"; this one trains twice
def test_random_training_is_device_count_independent():
    from conftest import train_with
    config = tiny_sr_config(data__degradation="random")
    one, losses_one = train_with(config, "pmap", jax.local_devices()[:1], 2)
    four, losses_four = train_with(config, "pmap", jax.local_devices()[:4], 2)
    np.testing.assert_allclose(losses_one, losses_four, rtol=1e-5)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-5), one.params,
                 four.params)


@pytest.mark.parametrize("override,match", [
    ("data.degradation=blurry", "data.degradation must be one of"),
    ("data.random.jpeg_prob=1.5", "must be a probability"),
    ("data.random.blur_sigma=(1.0,0.5)", "0 < low <= high"),
    ("data.random.resize_methods=('lanczos',)", "resize_methods must be some of"),
])
def test_bad_degradation_configs_are_refused(override, match):
    from jresgen.config import apply_overrides
    config = tiny_sr_config(data__degradation="random")
    apply_overrides(config, [override])
    with pytest.raises(UserError, match=match):
        datasets.build(config)


@pytest.fixture(scope="module")
def hr():
    return mod_crop(load_photo("coffee")[:120, :160].astype(np.float32) / 255, 2)


def test_panel_entries_are_the_libraries(hr):
    import skimage.transform
    uint8 = np.round(hr * 255).astype(np.uint8)
    pil = Image.fromarray(uint8).resize((80, 60), Image.Resampling.BICUBIC)
    np.testing.assert_allclose(panel_lr("pillow_bicubic", hr, 2), np.asarray(pil) / 255.0,
                               atol=1e-6)
    ski = skimage.transform.resize(hr, (60, 80, 3), anti_aliasing=True)
    np.testing.assert_allclose(panel_lr("skimage_antialias", hr, 2), ski, atol=0.5 / 255 + 1e-6)
    area = hr.reshape(60, 2, 80, 2, 3).mean(axis=(1, 3))
    np.testing.assert_allclose(panel_lr("area", hr, 2), area, atol=1 / 255 + 1e-6)
    for name in PANEL:
        lr = panel_lr(name, hr, 2, "coffee")
        assert lr.shape == (60, 80, 3)
        np.testing.assert_allclose(lr * 255, np.round(lr * 255), atol=1e-4)
    np.testing.assert_array_equal(panel_lr("random", hr, 2, "coffee"),
                                  panel_lr("random", hr, 2, "coffee"))


def test_readme_lists_exactly_the_panel():
    readme = (ROOT / "README.md").read_text()
    section = readme.split("### The degradation panel", 1)[1].split("\n#", 1)[0]
    listed = re.findall(r"^\| `(\w+)` \|", section, flags=re.M)
    assert sorted(listed) == sorted(PANEL)
