"""Bicubic resizing, used to make low-resolution inputs and the bicubic baseline.

Kernel: Keys' cubic convolution with a = -0.5, which is also MATLAB's `imresize` kernel; on
downscaling the kernel is stretched by the scale factor (antialiasing), as MATLAB does. It is
`jax.image.resize(..., "cubic", antialias=True)`. Two differences from MATLAB's `imresize`, which
papers use to build their low-resolution sets: at the image border MATLAB mirrors the image
(symmetric padding) while JAX renormalises the kernel weights that fall inside the image, so
the outermost pixels or two differ; and MATLAB converts to uint8 with rounding at the end,
which we do too (`quantize`). Figures here are therefore close to, but not bit-identical with,
those computed on MATLAB-made sets.
"""
import jax
import numpy as np


def bicubic_resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """float [H, W, C] -> float32 [height, width, C], antialiased when downscaling. Unclipped."""
    out = jax.image.resize(np.asarray(image, np.float32), (height, width, image.shape[-1]),
                           method="cubic", antialias=True)
    return np.asarray(out)


def quantize(image: np.ndarray) -> np.ndarray:
    """[0, 1] float -> the nearest of the 256 uint8 levels, still float32 in [0, 1]."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.float32) / 255.0


def to_uint8(image: np.ndarray) -> np.ndarray:
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def mod_crop(image: np.ndarray, scale: int) -> np.ndarray:
    """Crops H and W down to multiples of `scale` (top-left anchored)."""
    h, w = image.shape[:2]
    return image[: h - h % scale, : w - w % scale]


def degrade(hr: np.ndarray, scale: int) -> np.ndarray:
    """The low-resolution input for a [0, 1] HR image: bicubic /scale, quantised to uint8 levels
    as a stored LR image would be."""
    h, w = hr.shape[:2]
    return quantize(bicubic_resize(hr, h // scale, w // scale))
