"""Johnson et al.'s image transformation network for fast style transfer, laid out as
pytorch/examples' `fast_neural_style` TransformerNet:

    conv 9x9 32 -> conv 3x3/2 64 -> conv 3x3/2 128        (each: instance norm, ReLU)
    -> 5 residual blocks of 128 (conv-IN-ReLU-conv-IN, + identity)
    -> nearest x2, conv 3x3 64 -> nearest x2, conv 3x3 32  (each: instance norm, ReLU)
    -> conv 9x9 3

Every conv mirrors the border (reflection padding of k // 2) and has a bias, as there.
Images in [0, 1], x [B, H, W, 3] -> [B, H, W, 3] (unclipped; clip when writing). Any H and W:
the input is mirrored up to a multiple of 4 (the two halvings) and the output cropped back,
so odd sizes come out the size they went in. Sides of at least MIN_SIZE pixels (the deepest
reflection pad must be smaller than the feature map).
"""
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jresgen.nn import Activation, BasicBlock, make_norm, upsample_nearest

MIN_SIZE = 8


class ReflectConv(nn.Module):
    """Reflection padding of kernel // 2 on each side, then a VALID conv (PyTorch's
    ReflectionPad2d + Conv2d; for strided convs flax's own 'REFLECT' pads differently)."""
    features: int
    kernel: int
    strides: int = 1
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x):
        p = self.kernel // 2
        x = jnp.pad(x, ((0, 0), (p, p), (p, p), (0, 0)), mode="reflect")
        return nn.Conv(self.features, (self.kernel, self.kernel), (self.strides,) * 2,
                       padding="VALID", dtype=self.dtype, name="conv")(x)


class TransformerNet(nn.Module):
    features: Sequence[int] = (32, 64, 128)
    num_blocks: int = 5
    norm: str = "instance"
    dtype: Any = jnp.float32  # computation dtype; parameters and the output stay float32

    def _conv_norm_act(self, x, features, kernel, strides, name):
        x = ReflectConv(features, kernel, strides, dtype=self.dtype, name=f"{name}_conv")(x)
        norm = make_norm(self.norm, dtype=self.dtype)
        x = x if norm is None else norm(name=f"{name}_norm")(x)
        return Activation("relu")(x)

    @nn.compact
    def __call__(self, image, train: bool = False):
        h, w = image.shape[1:3]
        multiple = 2 ** (len(self.features) - 1)
        x = jnp.pad(image, ((0, 0), (0, -h % multiple), (0, -w % multiple), (0, 0)),
                    mode="reflect")
        f_in, *f_down = self.features
        x = self._conv_norm_act(x, f_in, 9, 1, "in")
        for i, f in enumerate(f_down):
            x = self._conv_norm_act(x, f, 3, 2, f"down{i + 1}")
        for i in range(self.num_blocks):
            x = BasicBlock(self.features[-1], norm=self.norm, padding="REFLECT", use_bias=True,
                           dtype=self.dtype, name=f"res{i + 1}")(x, train)
        for i, f in enumerate(reversed(self.features[:-1])):
            x = self._conv_norm_act(upsample_nearest(x), f, 3, 1, f"up{i + 1}")
        out = ReflectConv(image.shape[-1], 9, dtype=self.dtype, name="out_conv")(x)
        return out[:, :h, :w].astype(jnp.float32)


def build(cfg) -> TransformerNet:
    """The net a `config.model` section describes."""
    return TransformerNet(features=tuple(cfg.features), num_blocks=cfg.num_blocks,
                          norm=cfg.norm, dtype=jnp.dtype(cfg.get("dtype", "float32")))
