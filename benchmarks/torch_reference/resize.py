"""Bicubic upsampling that matches `jax.image.resize(..., "cubic")`, as a fixed linear map.

`F.interpolate(mode="bicubic")` is not the same function: it uses Keys' kernel with a = -0.75
and clamps indices at the border, while JAX uses a = -0.5 and renormalises the weights of the
taps that fall inside the image. The difference is ~1e-2 near edges, far above the 1e-4 the
equivalence tests demand, so the reference builds JAX's interpolation matrix itself.
"""
import numpy as np
import torch
from torch import nn


def keys_cubic(x: np.ndarray, a: float = -0.5) -> np.ndarray:
    x = np.abs(x)
    near = ((a + 2) * x - (a + 3)) * x * x + 1
    far = ((a * x - 5 * a) * x + 8 * a) * x - 4 * a
    return np.where(x < 1, near, np.where(x < 2, far, 0.0))


def cubic_matrix(in_size: int, out_size: int) -> np.ndarray:
    """[out_size, in_size] weights: half-pixel centres, taps outside the image dropped and the
    rest renormalised to sum to one (what JAX does for upsampling without antialiasing)."""
    centres = (np.arange(out_size) + 0.5) * in_size / out_size - 0.5
    weights = keys_cubic(centres[:, None] - np.arange(in_size)[None, :])
    return (weights / weights.sum(axis=1, keepdims=True)).astype(np.float32)


class BicubicUpsample(nn.Module):
    """x [B, C, h, w] -> [B, C, h*s, w*s]; the matrices are rebuilt when the input size changes."""

    def __init__(self, scale: int):
        super().__init__()
        self.scale = scale
        self._cache = {}

    def forward(self, x):
        h, w = x.shape[-2:]
        key = (h, w, x.device, x.dtype)
        if key not in self._cache:
            self._cache[key] = tuple(
                torch.from_numpy(cubic_matrix(n, n * self.scale)).to(x.device, x.dtype)
                for n in (h, w))
        rows, cols = self._cache[key]
        return torch.einsum("yh,bchw,xw->bcyx", rows, x, cols)
