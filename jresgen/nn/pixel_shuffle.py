"""Sub-pixel convolution upsampling (Shi et al. 2016), NHWC."""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jresgen.nn.activations import Activation
from jresgen.nn.conv3x3 import Conv3x3


def pixel_shuffle(x: jnp.ndarray, factor: int) -> jnp.ndarray:
    """Depth-to-space: x [B, H, W, C*r*r] -> [B, H*r, W*r, C].

    Channel `c*r*r + i*r + j` of the input lands at output channel `c`, row offset `i`,
    column offset `j`: PyTorch's `nn.PixelShuffle` order, so weights transfer unchanged
    (TensorFlow's `depth_to_space` orders the channels `(i*r + j)*C + c` instead).
    """
    b, h, w, crr = x.shape
    r = factor
    if crr % (r * r):
        raise ValueError(f"channels {crr} not divisible by factor^2 = {r * r}")
    c = crr // (r * r)
    x = x.reshape(b, h, w, c, r, r)
    x = x.transpose(0, 1, 4, 2, 5, 3)  # b, h, i, w, j, c
    return x.reshape(b, h * r, w * r, c)


class PixelShuffleUpsampler(nn.Module):
    """Conv to `features * r^2` channels then pixel shuffle, once per factor of the scale.

    Scale 2 and 3 use one stage; scale 4 (and 8) repeat the x2 stage, as EDSR does.
    """
    features: int
    scale: int
    activation: str | None = None  # SRResNet puts a PReLU after each shuffle; EDSR none
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        if self.scale in (2, 3):
            stages = [self.scale]
        elif self.scale & (self.scale - 1) == 0 and self.scale > 0:
            stages = [2] * (self.scale.bit_length() - 1)
        else:
            raise ValueError(f"scale must be 2, 3 or a power of two, got {self.scale}")
        for i, r in enumerate(stages):
            x = Conv3x3(self.features * r * r, dtype=self.dtype, name=f"conv_{i}")(x)
            x = pixel_shuffle(x, r)
            if self.activation:
                x = Activation(self.activation, name=f"act_{i}")(x)
        return x
