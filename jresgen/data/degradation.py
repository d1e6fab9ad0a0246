"""Degradation models: how a high-resolution image becomes the low-resolution input.

`data.degradation` picks one:

- "bicubic": jresgen's antialiased bicubic, rounded to uint8 levels (`resize.degrade`), the
  super-resolution papers' protocol. A model trained on it only is fragile on LR images made
  any other way.
- "random": a Real-ESRGAN / BSRGAN-style model drawn per training sample. One pass is
  blur -> resize -> noise -> JPEG, each step optional and drawn from the ranges in
  `data.random`:
    blur     isotropic or anisotropic (rotated) Gaussian kernel, sigma in HR pixels;
    resize   one of RESIZE_METHODS: the resize kernels themselves (bicubic and bilinear, with
             and without antialiasing, area) are the other blur users' images have seen;
    noise    Gaussian (sigma in uint8 levels) or Poisson (Real-ESRGAN's scale), colour or grey;
    JPEG     through Pillow, at a random quality.
  With probability `second_pass_prob` two passes run (Real-ESRGAN's second-order model): the
  first to a random intermediate size between HR and LR, the second to the LR size; both draw
  from the same ranges.

Randomness is explicit: `RandomDegradation.sample(rng, shape)` draws the parameters of one
sample (a tuple of `Pass`) and `apply(hr, passes)` is deterministic, so a train source that
seeds `rng` from (seed, step, index) stays a pure function of them.
"""
import functools
import io
import math
from dataclasses import dataclass

import numpy as np
from PIL import Image
from scipy import signal

from jresgen.data.resize import quantize, to_uint8

DEGRADATIONS = ("bicubic", "random")

# name -> (kernel, antialias). Antialiasing stretches the kernel by the downscale factor
# (MATLAB's imresize, Pillow, jax.image.resize); without it the kernel samples the input at
# the output pixel centres (OpenCV's INTER_CUBIC / INTER_LINEAR, scikit-image's interpolation).
RESIZE_METHODS = {"bicubic": ("cubic", True), "bicubic_noaa": ("cubic", False),
                  "bilinear": ("linear", True), "bilinear_noaa": ("linear", False),
                  "area": ("box", True)}
_SUPPORT = {"cubic": 2.0, "linear": 1.0, "box": 0.5}


def _kernel(name: str, x: np.ndarray) -> np.ndarray:
    ax = np.abs(x)
    if name == "cubic":  # Keys' cubic convolution, a = -0.5 (MATLAB, Pillow, JAX)
        return np.where(ax <= 1, 1.5 * ax ** 3 - 2.5 * ax ** 2 + 1,
                        np.where(ax < 2, -0.5 * ax ** 3 + 2.5 * ax ** 2 - 4 * ax + 2, 0.0))
    if name == "linear":
        return np.maximum(0.0, 1.0 - ax)
    return ((x >= -0.5) & (x < 0.5)).astype(np.float64)  # box


@functools.lru_cache(maxsize=256)
def resize_matrix(in_size: int, out_size: int, method: str) -> np.ndarray:
    """float32 [out_size, in_size]: row i holds the weights of output pixel i. Pixel centres are
    aligned ((i + 0.5) * in/out - 0.5); weights that fall outside the image are dropped and the
    rest renormalised, as jax.image.resize does."""
    kernel, antialias = RESIZE_METHODS[method]
    scale = in_size / out_size
    stretch = max(scale, 1.0) if antialias else 1.0
    centres = (np.arange(out_size) + 0.5) * scale - 0.5
    weights = _kernel(kernel, (np.arange(in_size)[None, :] - centres[:, None]) / stretch)
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


def resize(image: np.ndarray, height: int, width: int, method: str) -> np.ndarray:
    """float [H, W, C] -> float32 [height, width, C] with one of RESIZE_METHODS. Unclipped."""
    rows = resize_matrix(image.shape[0], height, method)
    cols = resize_matrix(image.shape[1], width, method)
    h, w, c = image.shape
    out = (rows @ np.asarray(image, np.float32).reshape(h, w * c)).reshape(height, w, c)
    return cols @ out  # [width, W] @ [height, W, C] -> [height, width, C]


def gaussian_kernel(sigma_x: float, sigma_y: float, theta: float, size: int) -> np.ndarray:
    """float32 [size, size] Gaussian with standard deviations `sigma_x`, `sigma_y` along axes
    rotated by `theta` radians; sums to 1. `size` is odd."""
    r = size // 2
    y, x = np.mgrid[-r:r + 1, -r:r + 1].astype(np.float64)
    u = math.cos(theta) * x + math.sin(theta) * y
    v = -math.sin(theta) * x + math.cos(theta) * y
    k = np.exp(-0.5 * ((u / sigma_x) ** 2 + (v / sigma_y) ** 2))
    return (k / k.sum()).astype(np.float32)


def blur(image: np.ndarray, kernel: np.ndarray) -> np.ndarray:
    """[H, W, C] filtered by a [k, k] kernel, mirrored at the border."""
    r = kernel.shape[0] // 2
    padded = np.pad(image, ((r, r), (r, r), (0, 0)), mode="reflect")
    # Gaussians are point-symmetric, so convolution is correlation; FFT is the fast way for
    # kernels that do not separate (anisotropic ones).
    return signal.fftconvolve(padded, kernel[:, :, None], mode="valid", axes=(0, 1))


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    """[0, 1] RGB float -> the same image saved as JPEG at `quality` by Pillow and read back."""
    buffer = io.BytesIO()
    Image.fromarray(to_uint8(image)).save(buffer, format="JPEG", quality=int(quality))
    buffer.seek(0)
    with Image.open(buffer) as img:
        return np.asarray(img.convert("RGB"), np.float32) / 255.0


def add_noise(image: np.ndarray, kind: str, level: float, gray: bool,
              rng: np.random.Generator) -> np.ndarray:
    """Gaussian noise of standard deviation `level` uint8 levels, or Poisson (shot) noise on 255
    photons at white scaled by `level` (Real-ESRGAN's `poisson_scale`); `gray` adds the same
    noise to the three channels."""
    shape = image.shape[:2] + ((1,) if gray else image.shape[2:])
    if kind == "gaussian":
        noise = rng.normal(0.0, level / 255.0, shape)
    else:
        base = np.clip(image.mean(axis=-1, keepdims=True) if gray else image, 0.0, 1.0)
        noise = (rng.poisson(base * 255.0) / 255.0 - base) * level
    return (image + noise).astype(np.float32)


@dataclass(frozen=True)
class Pass:
    """The parameters of one degradation pass, drawn by `RandomDegradation.sample`."""
    size: tuple[int, int]  # output (height, width)
    method: str  # a RESIZE_METHODS key
    kernel: np.ndarray | None = None  # blur before resizing, or none
    noise: str = ""  # "", "gaussian" or "poisson"
    noise_level: float = 0.0
    gray_noise: bool = False
    jpeg_quality: int = 0  # 0: no JPEG
    noise_seed: int = 0


def apply_passes(hr: np.ndarray, passes) -> np.ndarray:
    """float [H, W, 3] in [0, 1] -> LR on uint8 levels, deterministic given `passes`."""
    x = np.asarray(hr, np.float32)
    for p in passes:
        if p.kernel is not None:
            x = blur(x, p.kernel)
        x = resize(x, *p.size, p.method)
        if p.noise:
            x = add_noise(x, p.noise, p.noise_level, p.gray_noise,
                          np.random.default_rng(p.noise_seed))
        x = jpeg(x, p.jpeg_quality) if p.jpeg_quality else quantize(x)
    return x


# The keys of `data.random`, with the values a config starts from (common_sr.py).
RANDOM_DEFAULTS = dict(
    blur_prob=0.7,  # chance of a Gaussian blur before the resize
    blur_sigma=(0.2, 1.2),  # HR pixels
    anisotropic_prob=0.3,  # else isotropic
    max_kernel_size=21,  # kernels are 2 * ceil(3 sigma) + 1 wide, at most this
    resize_methods=tuple(RESIZE_METHODS),  # drawn uniformly
    noise_prob=0.2,
    poisson_prob=0.3,  # share of noisy samples with Poisson rather than Gaussian noise
    gray_noise_prob=0.4,
    noise_sigma=(1.0, 8.0),  # Gaussian noise, uint8 levels
    poisson_scale=(0.05, 0.5),
    jpeg_prob=0.3,
    jpeg_quality=(70, 95),
    second_pass_prob=0.1)

_PROBS = ("blur_prob", "anisotropic_prob", "noise_prob", "poisson_prob", "gray_noise_prob",
          "jpeg_prob", "second_pass_prob")
_RANGES = ("blur_sigma", "noise_sigma", "poisson_scale", "jpeg_quality")


class RandomDegradation:
    """The "random" degradation with the ranges of a `data.random` config section."""

    def __init__(self, ranges, scale: int):
        ranges = ranges.to_dict() if hasattr(ranges, "to_dict") else dict(ranges)
        unknown = set(ranges) - set(RANDOM_DEFAULTS)
        if unknown:
            raise ValueError(f"unknown data.random keys: {', '.join(sorted(unknown))}")
        self.r = {**RANDOM_DEFAULTS, **ranges}
        self.scale = scale
        for key in _PROBS:
            if not 0.0 <= self.r[key] <= 1.0:
                raise ValueError(f"data.random.{key} must be a probability, got {self.r[key]}")
        for key in _RANGES:
            lo, hi = self.r[key]
            if not 0 < lo <= hi:
                raise ValueError(f"data.random.{key} must be (low, high) with 0 < low <= high, "
                                 f"got {self.r[key]}")
        if self.r["jpeg_quality"][1] > 100:
            raise ValueError("data.random.jpeg_quality must lie in [1, 100]")
        bad = [m for m in self.r["resize_methods"] if m not in RESIZE_METHODS]
        if bad or not self.r["resize_methods"]:
            raise ValueError(f"data.random.resize_methods must be some of "
                             f"{', '.join(RESIZE_METHODS)}, got {self.r['resize_methods']}")
        if self.r["max_kernel_size"] < 3:
            raise ValueError("data.random.max_kernel_size must be at least 3")

    def margin(self) -> int:
        """LR pixels a crop needs around it so that borders do not reach its centre."""
        radius = min(math.ceil(3 * self.r["blur_sigma"][1]), self.r["max_kernel_size"] // 2)
        return math.ceil(radius / self.scale) + 4  # + the cubic kernel's reach, twice

    def sample(self, rng: np.random.Generator, shape) -> tuple[Pass, ...]:
        """The passes that take an HR image of `shape` [H, W, ...] to H/scale x W/scale."""
        h, w = shape[0], shape[1]
        final = (h // self.scale, w // self.scale)
        if rng.random() < self.r["second_pass_prob"]:
            f = rng.uniform(1.0, self.scale)
            sizes = [(round(h / f), round(w / f)), final]
        else:
            sizes = [final]
        return tuple(self._one_pass(rng, size) for size in sizes)

    def _one_pass(self, rng, size) -> Pass:
        r = self.r
        kernel = None
        if rng.random() < r["blur_prob"]:
            sx = rng.uniform(*r["blur_sigma"])
            if rng.random() < r["anisotropic_prob"]:
                sy, theta = rng.uniform(*r["blur_sigma"]), rng.uniform(0.0, math.pi)
            else:
                sy, theta = sx, 0.0
            size_k = min(2 * math.ceil(3 * max(sx, sy)) + 1, r["max_kernel_size"] // 2 * 2 + 1)
            kernel = gaussian_kernel(sx, sy, theta, size_k)
        method = r["resize_methods"][rng.integers(len(r["resize_methods"]))]
        noise, level, gray = "", 0.0, False
        if rng.random() < r["noise_prob"]:
            if rng.random() < r["poisson_prob"]:
                noise, level = "poisson", rng.uniform(*r["poisson_scale"])
            else:
                noise, level = "gaussian", rng.uniform(*r["noise_sigma"])
            gray = bool(rng.random() < r["gray_noise_prob"])
        quality = 0
        if rng.random() < r["jpeg_prob"]:
            quality = int(rng.integers(r["jpeg_quality"][0], r["jpeg_quality"][1] + 1))
        return Pass(size=tuple(size), method=method, kernel=kernel, noise=noise,
                    noise_level=float(level), gray_noise=gray, jpeg_quality=quality,
                    noise_seed=int(rng.integers(2 ** 63)))

    def __call__(self, hr: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return apply_passes(hr, self.sample(rng, hr.shape))
