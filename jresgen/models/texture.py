"""Feed-forward texture network (Ulyanov, Lebedev, Vedaldi & Lempitsky, "Texture networks",
ICML 2016), with residual blocks and instance norm (Ulyanov et al. 2017).

Noise enters at `scales` resolutions, full size down to 1/2^(scales-1). The coarsest noise
goes through a conv and a residual block; at each finer scale the result is upsampled 2x
(nearest), joined with that scale's processed noise, and mixed by another residual block; a
1x1 conv and a sigmoid give the texture in [0, 1]. `features` and `blocks` are one number for
every scale, or one per scale (finest first): the coarse scales, where the net lays out the
large structure (a brick wall's courses), are cheap to widen or deepen, their maps being
small. The net is fully convolutional: the same weights make a texture of any size (sides
multiples of 2^(scales-1); `generate` pads and crops for other sizes).

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


IntOrPerScale = int | tuple[int, ...]


def per_scale(value: IntOrPerScale, scales: int) -> tuple[int, ...]:
    """`value` for each scale, finest first: an int for all of them, or a sequence of `scales`."""
    return (int(value),) * scales if isinstance(value, int) else tuple(int(v) for v in value)


class TextureNet(nn.Module):
    scales: int = 5
    # channels of scale k's branch and of the stream joined at scale k: one for all scales,
    # or one per scale (finest first)
    features: IntOrPerScale = 32
    noise_channels: int = 3
    blocks: IntOrPerScale = 1  # residual blocks per branch and after each join (or per scale)
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

    def _branch(self, z, k, features, blocks):
        y = nn.Conv(features, (3, 3), padding=self.padding, dtype=self.dtype,
                    name=f"noise_conv_{k}")(z)
        for i in range(blocks):
            y = self._block(features, f"noise_block_{k}_{i}")(y)
        return y

    @nn.compact
    def __call__(self, noises, train: bool = False):
        """noises: list of [B, H/2^k, W/2^k, noise_channels], k = 0 (finest) .. scales-1."""
        if len(noises) != self.scales:
            raise ValueError(f"TextureNet with {self.scales} scales got {len(noises)} noises")
        features = per_scale(self.features, self.scales)
        blocks = per_scale(self.blocks, self.scales)
        y = self._branch(noises[-1], self.scales - 1, features[-1], blocks[-1])
        for k in reversed(range(self.scales - 1)):
            z = self._branch(noises[k], k, features[k], blocks[k])
            y = jnp.concatenate([upsample_nearest(y), z], axis=-1)
            for i in range(blocks[k]):  # the first block's 1x1 shortcut maps the joined
                y = self._block(features[k], f"join_block_{k}_{i}")(y)  # channels to features[k]
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


def _per_scale_option(cfg, key: str, minimum: int) -> IntOrPerScale:
    """`config.model.<key>`: an int, or a list of one int per scale (finest first), each at
    least `minimum`; a list comes back as a tuple (a hashable module field)."""
    value = cfg[key]
    if not isinstance(value, (int, list, tuple)):
        raise UserError(f"model.{key} must be an integer or a list of them, got {value!r}")
    values = [value] if isinstance(value, int) else list(value)
    if not isinstance(value, int) and len(values) != cfg.scales:
        raise UserError(f"model.{key} has {len(values)} values for model.scales={cfg.scales}; "
                        f"give one number or one per scale, finest first")
    if not all(isinstance(v, int) and v >= minimum for v in values):
        raise UserError(f"model.{key} must be integers >= {minimum}, got {value!r}")
    return value if isinstance(value, int) else tuple(values)


def build(cfg, channels: int) -> TextureNet:
    """The texture net a `config.model` section describes, with `channels` outputs."""
    if cfg.get("padding", "SAME") not in PADDINGS:
        raise UserError(f"model.padding must be one of {', '.join(PADDINGS)}, "
                        f"got {cfg.padding!r}")
    return TextureNet(scales=cfg.scales, features=_per_scale_option(cfg, "features", 1),
                      noise_channels=cfg.noise_channels,
                      blocks=_per_scale_option(cfg, "blocks", 0), norm=cfg.norm,
                      activation=cfg.activation,
                      channels=channels, padding=cfg.get("padding", "SAME"),
                      dtype=jnp.dtype(cfg.get("dtype", "float32")))
