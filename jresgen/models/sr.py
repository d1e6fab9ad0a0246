"""The SRResNet/EDSR family of super-resolution nets.

    head conv3x3 -> N residual blocks -> body conv3x3 (+ head output: the global skip)
    -> pixel-shuffle upsampler -> tail conv3x3 [+ bicubic upsampling of the input]

Inputs and outputs are RGB in [0, 1], x [B, h, w, 3] -> [B, h*scale, w*scale, 3].
EDSR-baseline is 16 blocks x 64 features, no norm, res_scale 1; SRResNet is 16 blocks with
BatchNorm and PReLU; the seeds' SuperResolutionNet is 2 blocks x 64 features.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jresgen.nn import BasicBlock, Conv3x3, PixelShuffleUpsampler, rematerialized

# DIV2K's mean RGB, which EDSR subtracts from inputs and adds back to outputs.
DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


class SRResNet(nn.Module):
    scale: int = 2
    num_blocks: int = 16
    features: int = 64
    norm: str = "none"
    activation: str = "relu"
    res_scale: float = 1.0
    upsampler_activation: str | None = None
    subtract_mean: bool = True
    # "bicubic" adds the bicubically upsampled input to the output, so the net learns only
    # the residual detail (VDSR's idea); it speeds up early training a lot. "none" is EDSR.
    image_skip: str = "none"
    channels: int = 3
    axis_name: str | None = None
    dtype: Any = jnp.float32  # computation dtype; parameters and the output stay float32
    remat: str = "none"  # rematerialise each residual block (jresgen/nn/remat.py)

    @nn.compact
    def __call__(self, lr, train: bool = False):
        mean = jnp.asarray(DIV2K_RGB_MEAN[:self.channels] if self.subtract_mean else 0.0,
                           lr.dtype)
        x = Conv3x3(self.features, dtype=self.dtype, name="head")(lr - mean)
        y = x
        block = rematerialized(BasicBlock, self.remat)
        for i in range(self.num_blocks):
            y = block(self.features, norm=self.norm, activation=self.activation,
                           res_scale=self.res_scale, axis_name=self.axis_name,
                           dtype=self.dtype, name=f"block_{i}")(y, train)
        y = Conv3x3(self.features, dtype=self.dtype, name="body_conv")(y)
        y = PixelShuffleUpsampler(self.features, self.scale, self.upsampler_activation,
                                  dtype=self.dtype, name="upsampler")(x + y)
        # With the bicubic skip the tail starts at zero, so a fresh net is exactly bicubic.
        tail_init = nn.initializers.zeros if self.image_skip == "bicubic" else \
            nn.linear.default_kernel_init
        out = Conv3x3(self.channels, kernel_init=tail_init, dtype=self.dtype,
                      name="tail")(y).astype(jnp.float32)
        if self.image_skip == "none":
            return out + mean
        if self.image_skip == "bicubic":  # the tail predicts the detail bicubic misses
            b, h, w, c = lr.shape
            return out + jax.image.resize(lr, (b, h * self.scale, w * self.scale, c), "cubic")
        raise ValueError(f"image_skip must be 'none' or 'bicubic', got {self.image_skip!r}")


def build(cfg, axis_name=None) -> SRResNet:
    """The SR net a `config.model` section describes."""
    return SRResNet(scale=cfg.scale, num_blocks=cfg.num_blocks, features=cfg.features,
                    norm=cfg.norm, activation=cfg.activation, res_scale=cfg.res_scale,
                    upsampler_activation=cfg.upsampler_activation or None,
                    subtract_mean=cfg.subtract_mean, image_skip=cfg.image_skip,
                    dtype=jnp.dtype(cfg.get("dtype", "float32")), axis_name=axis_name,
                    remat=cfg.get("remat", "none"))
