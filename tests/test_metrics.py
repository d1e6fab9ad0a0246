"""PSNR/SSIM against scikit-image, and the SR (BasicSR) convention around them."""
import numpy as np
import pytest
import skimage.data
from skimage.color import rgb2ycbcr
from skimage.metrics import peak_signal_noise_ratio, structural_similarity

from jresgen.metrics import psnr, rgb_to_y, sr_metrics, ssim


@pytest.fixture(scope="module")
def pair():
    hr = skimage.data.chelsea()[:120, :160] / 255.0
    noisy = np.clip(hr + np.random.default_rng(0).normal(0, 0.03, hr.shape), 0, 1)
    return np.round(noisy * 255) / 255, hr


def test_y_channel_matches_skimage(pair):
    sr, _ = pair
    np.testing.assert_allclose(np.asarray(rgb_to_y(sr.astype(np.float32))),
                               rgb2ycbcr(sr)[..., 0], atol=1e-3)


def test_psnr_matches_skimage(pair):
    sr, hr = pair
    ours = float(psnr(sr.astype(np.float32), hr.astype(np.float32), 1.0))
    assert ours == pytest.approx(peak_signal_noise_ratio(hr, sr, data_range=1.0), abs=1e-3)


def test_ssim_matches_skimage_gaussian_protocol(pair):
    sr, hr = pair
    y_sr, y_hr = rgb2ycbcr(sr)[..., 0], rgb2ycbcr(hr)[..., 0]
    ref = structural_similarity(y_hr, y_sr, data_range=255, gaussian_weights=True, sigma=1.5,
                                use_sample_covariance=False)
    ours = float(ssim(y_sr.astype(np.float32), y_hr.astype(np.float32), 255.0))
    assert ours == pytest.approx(ref, abs=1e-5)


def test_sr_metrics_crop_the_border_and_use_y(pair):
    sr, hr = pair
    s = 2
    y_sr, y_hr = (rgb2ycbcr(im)[s:-s, s:-s, 0] for im in (sr, hr))
    m = sr_metrics(sr, hr, border=s)
    assert m["psnr_y"] == pytest.approx(peak_signal_noise_ratio(y_hr, y_sr, data_range=255),
                                        abs=1e-3)
    assert m["ssim_y"] == pytest.approx(structural_similarity(
        y_hr, y_sr, data_range=255, gaussian_weights=True, sigma=1.5,
        use_sample_covariance=False), abs=1e-5)
    assert m["psnr_rgb"] == pytest.approx(peak_signal_noise_ratio(
        hr[s:-s, s:-s], sr[s:-s, s:-s], data_range=1.0), abs=1e-3)


def test_identical_images_have_ssim_one():
    img = np.random.default_rng(1).uniform(size=(32, 32)).astype(np.float32)
    assert float(ssim(img, img, 1.0)) == pytest.approx(1.0, abs=1e-6)
