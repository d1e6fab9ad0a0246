"""PSNR and SSIM, in JAX so they run where the images are.

The super-resolution convention (BasicSR, and most papers): images on uint8 levels, `scale`
pixels cropped from each border, metrics on the luma channel Y of ITU-R BT.601 (the Y of
MATLAB's `rgb2ycbcr`, in [16, 235]) with a peak of 255; SSIM with an 11x11 Gaussian window of
sigma 1.5, K1 = 0.01, K2 = 0.03, averaged over the valid (uncropped by the window) region.
RGB PSNR over all three channels is reported beside it; it is not the paper number.
"""
import jax
import jax.numpy as jnp
import numpy as np


def rgb_to_y(rgb: jnp.ndarray) -> jnp.ndarray:
    """[..., 3] RGB in [0, 1] -> [...] Y in [16, 235] (BT.601, as MATLAB's rgb2ycbcr)."""
    return 16.0 + rgb @ jnp.asarray([65.481, 128.553, 24.966], rgb.dtype)


def psnr(a: jnp.ndarray, b: jnp.ndarray, data_range: float) -> jnp.ndarray:
    """Peak signal-to-noise ratio in dB over all elements."""
    mse = jnp.mean((a.astype(jnp.float32) - b.astype(jnp.float32)) ** 2)
    return 10.0 * jnp.log10(data_range ** 2 / mse)


def _gaussian_window(size: int = 11, sigma: float = 1.5) -> np.ndarray:
    x = np.arange(size) - (size - 1) / 2
    g = np.exp(-x ** 2 / (2 * sigma ** 2))
    return (g / g.sum()).astype(np.float32)


def _filter_valid(img: jnp.ndarray, window: np.ndarray) -> jnp.ndarray:
    """Separable 2D filter of [H, W], keeping only positions where the window fits."""
    k = jnp.asarray(window)
    rows = jax.vmap(lambda r: jnp.convolve(r, k, mode="valid"))(img)
    return jax.vmap(lambda c: jnp.convolve(c, k, mode="valid"), in_axes=1, out_axes=1)(rows)


def ssim(a: jnp.ndarray, b: jnp.ndarray, data_range: float) -> jnp.ndarray:
    """Mean SSIM of two single-channel images [H, W] (Wang et al. 2004, Gaussian window)."""
    a, b = a.astype(jnp.float32), b.astype(jnp.float32)
    w = _gaussian_window()
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    mu_a, mu_b = _filter_valid(a, w), _filter_valid(b, w)
    var_a = _filter_valid(a * a, w) - mu_a ** 2
    var_b = _filter_valid(b * b, w) - mu_b ** 2
    cov = _filter_valid(a * b, w) - mu_a * mu_b
    s = ((2 * mu_a * mu_b + c1) * (2 * cov + c2)) / ((mu_a ** 2 + mu_b ** 2 + c1) * (var_a + var_b + c2))
    return jnp.mean(s)


@jax.jit
def _sr_metrics(sr, hr):
    y_sr, y_hr = rgb_to_y(sr), rgb_to_y(hr)
    return {"psnr_y": psnr(y_sr, y_hr, 255.0), "ssim_y": ssim(y_sr, y_hr, 255.0),
            "psnr_rgb": psnr(sr, hr, 1.0)}


def sr_metrics(sr: np.ndarray, hr: np.ndarray, border: int) -> dict[str, float]:
    """psnr_y, ssim_y and psnr_rgb of an RGB [H, W, 3] result in [0, 1] against its ground truth,
    `border` pixels cropped from each side first (use the scale factor)."""
    if border:
        sr, hr = sr[border:-border, border:-border], hr[border:-border, border:-border]
    values = _sr_metrics(jnp.asarray(sr, jnp.float32), jnp.asarray(hr, jnp.float32))
    return {k: float(v) for k, v in values.items()}
