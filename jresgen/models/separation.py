"""A residual network that reproduces the ROF texture/structure split (jresgen/models/rof.py)
in one forward pass.

    head conv3x3 -> `levels` x (strided conv3x3, halving) -> N residual blocks
    -> `levels` x (nearest upsample, conv3x3, + the skip of the same resolution)
    -> tail conv3x3 -> structure = image + tail

The blocks work at 1/2**levels of the resolution, where the solver's long-range flattening is
cheap to reach, and the skips carry the edges back. The tail starts at zero, so a fresh net is
the identity: strength 0's split, from which training moves towards the target strength.
Images in [0, 1], x [B, H, W, 3] -> structure [B, H, W, 3], any H and W (odd sizes too).
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from jresgen.nn import Activation, BasicBlock, upsample_nearest


class SeparationNet(nn.Module):
    features: int = 32
    num_blocks: int = 4
    levels: int = 2
    activation: str = "relu"
    dtype: Any = jnp.float32  # computation dtype; parameters and the output stay float32

    @nn.compact
    def __call__(self, image, train: bool = False):
        x = nn.Conv(self.features, (3, 3), dtype=self.dtype, name="head")(image - 0.5)
        skips = []
        for i in range(self.levels):
            skips.append(x)
            x = nn.Conv(self.features, (3, 3), strides=(2, 2), dtype=self.dtype,
                        name=f"down_{i}")(Activation(self.activation)(x))
        for i in range(self.num_blocks):
            x = BasicBlock(self.features, activation=self.activation, dtype=self.dtype,
                           name=f"block_{i}")(x, train)
        for i, skip in reversed(list(enumerate(skips))):
            h, w = skip.shape[1:3]
            x = upsample_nearest(x)[:, :h, :w]  # odd sizes: the strided conv rounded up
            x = nn.Conv(self.features, (3, 3), dtype=self.dtype, name=f"up_{i}")(x) + skip
            x = Activation(self.activation)(x)
        residual = nn.Conv(image.shape[-1], (3, 3), kernel_init=nn.initializers.zeros,
                           dtype=self.dtype, name="tail")(x)
        return image + residual.astype(jnp.float32)


def build(cfg) -> SeparationNet:
    """The net a `config.model` section describes."""
    return SeparationNet(features=cfg.features, num_blocks=cfg.num_blocks, levels=cfg.levels,
                         activation=cfg.activation, dtype=jnp.dtype(cfg.get("dtype", "float32")))
