"""Feed-forward texture network (Ulyanov, Lebedev, Vedaldi & Lempitsky, "Texture networks",
ICML 2016), with residual blocks and instance norm (Ulyanov et al. 2017).

Noise enters at `scales` resolutions, full size down to 1/2^(scales-1). The coarsest noise
goes through a conv and a residual block; at each finer scale the result is upsampled 2x
(nearest), joined with that scale's processed noise, and mixed by another residual block; a
1x1 conv and a sigmoid give the texture in [0, 1]. The net is fully convolutional: the same
weights make a texture of any size (sides multiples of 2^(scales-1); `generate` pads and
crops for other sizes).

    noises = noise_shapes(model, batch, height, width)  -> [(B, H, W, Cz), (B, H/2, W/2, Cz), ...]
    texture = model.apply(variables, noises)            -> [B, H, W, channels]
"""
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jresgen.errors import UserError
from jresgen.nn import BasicBlock, upsample_nearest


class TextureNet(nn.Module):
    scales: int = 5
    features: int = 32  # channels of every branch and of the joined stream
    noise_channels: int = 3
    blocks: int = 1  # residual blocks per branch and after each join
    norm: str = "instance"
    activation: str = "leaky_relu"
    channels: int = 3  # 1 for a grayscale exemplar
    # "SAME" (zeros) or "CIRCULAR": with circular padding no layer sees an image border, so
    # the net cannot anchor structure to the borders of its training crops (which does not
    # carry over to larger outputs), and its textures tile seamlessly.
    padding: str = "SAME"
    dtype: Any = jnp.float32

    def _block(self, features, name):
        return BasicBlock(features, norm=self.norm, activation=self.activation,
                          padding=self.padding, dtype=self.dtype, name=name)

    def _branch(self, z, k):
        y = nn.Conv(self.features, (3, 3), padding=self.padding, dtype=self.dtype,
                    name=f"noise_conv_{k}")(z)
        for i in range(self.blocks):
            y = self._block(self.features, f"noise_block_{k}_{i}")(y)
        return y

    @nn.compact
    def __call__(self, noises, train: bool = False):
        """noises: list of [B, H/2^k, W/2^k, noise_channels], k = 0 (finest) .. scales-1."""
        if len(noises) != self.scales:
            raise ValueError(f"TextureNet with {self.scales} scales got {len(noises)} noises")
        y = self._branch(noises[-1], self.scales - 1)
        for k in reversed(range(self.scales - 1)):
            z = self._branch(noises[k], k)
            y = jnp.concatenate([upsample_nearest(y), z], axis=-1)
            for i in range(self.blocks):  # the first block's 1x1 shortcut halves the channels
                y = self._block(self.features, f"join_block_{k}_{i}")(y)
        out = nn.Conv(self.channels, (1, 1), dtype=self.dtype, name="to_image")(y)
        return jax.nn.sigmoid(out.astype(jnp.float32))


def padded_size(model: TextureNet, height: int, width: int) -> tuple[int, int]:
    """The smallest size >= (height, width) the net makes: sides multiples of 2^(scales-1)."""
    m = 2 ** (model.scales - 1)
    return math.ceil(height / m) * m, math.ceil(width / m) * m


def sample_noise(model: TextureNet, rng, batch: int, height: int, width: int):
    """The net's inputs for a [batch, height, width] texture (height, width from padded_size):
    uniform noise in [0, 1), one array per scale, all from `rng`."""
    keys = jax.random.split(rng, model.scales)
    return [jax.random.uniform(keys[k], (batch, height // 2 ** k, width // 2 ** k,
                                         model.noise_channels))
            for k in range(model.scales)]


def generate(model: TextureNet, variables, rng, batch: int, height: int, width: int):
    """Textures [batch, height, width, channels] of any size: made at padded_size, cropped."""
    ph, pw = padded_size(model, height, width)
    return model.apply(variables, sample_noise(model, rng, batch, ph, pw))[:, :height, :width]


PADDINGS = ("SAME", "CIRCULAR")


def build(cfg, channels: int) -> TextureNet:
    """The texture net a `config.model` section describes, with `channels` outputs."""
    if cfg.get("padding", "SAME") not in PADDINGS:
        raise UserError(f"model.padding must be one of {', '.join(PADDINGS)}, "
                        f"got {cfg.padding!r}")
    return TextureNet(scales=cfg.scales, features=cfg.features, noise_channels=cfg.noise_channels,
                      blocks=cfg.blocks, norm=cfg.norm, activation=cfg.activation,
                      channels=channels, padding=cfg.get("padding", "SAME"),
                      dtype=jnp.dtype(cfg.get("dtype", "float32")))
