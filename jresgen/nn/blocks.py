"""Residual blocks as pure linen modules, NHWC.

Every block takes `norm` ("none", "batch", "instance", "group", "layer") and `activation` by
name, and `train` at call time (BatchNorm's batch statistics). When the channel count or the
stride changes, the shortcut becomes a projection (1x1 conv, plus norm if the block has one).
`res_scale` multiplies the residual branch before the addition (EDSR uses 0.1 for wide nets).
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jresgen.nn.activations import Activation
from jresgen.nn.norms import apply_norm, make_norm


class _BlockBase(nn.Module):
    features: int
    strides: int = 1
    norm: str = "none"
    activation: str = "relu"
    res_scale: float = 1.0
    zero_init_residual: bool = False  # last norm of the branch starts at scale 0
    axis_name: str | None = None  # BatchNorm statistics averaged over this pmap axis
    use_bias: bool | None = None  # default: bias only where no norm follows
    dtype: Any = jnp.float32  # computation dtype (e.g. bfloat16); parameters stay float32

    def _conv(self, features, kernel, strides=1, name=None):
        bias = self.norm == "none" if self.use_bias is None else self.use_bias
        return nn.Conv(features, (kernel, kernel), strides=(strides, strides),
                       use_bias=bias, dtype=self.dtype, name=name)

    def _norms(self, train):
        norm = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype)
        last = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype,
                         zero_scale=self.zero_init_residual)
        return norm, last

    def _shortcut(self, x, out_features, train, preactivated=None):
        if x.shape[-1] == out_features and self.strides == 1:
            return x
        source = x if preactivated is None else preactivated
        y = self._conv(out_features, 1, self.strides, name="shortcut_conv")(source)
        if preactivated is None:  # pre-activation nets leave the projection un-normalised
            norm, _ = self._norms(train)
            y = apply_norm(norm, y, "shortcut_norm")
        return y


class BasicBlock(_BlockBase):
    """conv3x3-norm-act-conv3x3-norm, plus the shortcut.

    `post_activation=True` is He et al.'s ResNet (activation after the addition);
    False is EDSR's block (no activation after the addition, no norm by default).
    """
    post_activation: bool = False

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, last = self._norms(train)
        y = self._conv(self.features, 3, self.strides, name="conv1")(x)
        y = apply_norm(norm, y, "norm1")
        y = Activation(self.activation, name="act1")(y)
        y = self._conv(self.features, 3, name="conv2")(y)
        y = apply_norm(last, y, "norm2")
        out = self._shortcut(x, self.features, train) + self.res_scale * y
        return Activation(self.activation, name="act_out")(out) if self.post_activation else out


ResidualBlock = BasicBlock  # the seeds' name for conv-relu-conv plus identity


class PreActBlock(_BlockBase):
    """He et al. 2016 (identity mappings): norm-act-conv3x3-norm-act-conv3x3, plus shortcut."""

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, _ = self._norms(train)
        pre = Activation(self.activation, name="act1")(apply_norm(norm, x, "norm1"))
        y = self._conv(self.features, 3, self.strides, name="conv1")(pre)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = self._conv(self.features, 3, name="conv2")(y)
        return self._shortcut(x, self.features, train, preactivated=pre) + self.res_scale * y


class BottleneckBlock(_BlockBase):
    """conv1x1-conv3x3(stride)-conv1x1 expanding to `features * expansion`, plus shortcut."""
    expansion: int = 4

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, last = self._norms(train)
        out_features = self.features * self.expansion
        y = self._conv(self.features, 1, name="conv1")(x)
        y = Activation(self.activation, name="act1")(apply_norm(norm, y, "norm1"))
        y = self._conv(self.features, 3, self.strides, name="conv2")(y)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = self._conv(out_features, 1, name="conv3")(y)
        y = apply_norm(last, y, "norm3")
        out = self._shortcut(x, out_features, train) + self.res_scale * y
        return Activation(self.activation, name="act_out")(out)


def upsample_nearest(x, factor: int = 2):
    """x [B, H, W, C] -> [B, H*f, W*f, C] by repetition."""
    return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def downsample_avg(x, factor: int = 2):
    """x [B, H, W, C] -> [B, H/f, W/f, C] by average pooling."""
    return nn.avg_pool(x, (factor, factor), strides=(factor, factor))


class ResidualUpBlock(_BlockBase):
    """Pre-activation block that doubles the resolution (SNGAN/BigGAN generator block):
    norm-act-upsample-conv3x3-norm-act-conv3x3, shortcut upsample then 1x1 conv if needed."""

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, _ = self._norms(train)
        y = Activation(self.activation, name="act1")(apply_norm(norm, x, "norm1"))
        y = self._conv(self.features, 3, name="conv1")(upsample_nearest(y))
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = self._conv(self.features, 3, name="conv2")(y)
        skip = upsample_nearest(x)
        if x.shape[-1] != self.features:
            skip = self._conv(self.features, 1, name="shortcut_conv")(skip)
        return skip + self.res_scale * y


class ResidualDownBlock(_BlockBase):
    """Pre-activation block that halves the resolution (SNGAN discriminator block):
    [norm-]act-conv3x3-[norm-]act-conv3x3-avgpool; shortcut 1x1 conv then avgpool.
    `preactivate=False` is SNGAN's first discriminator block (no activation on the input)."""
    preactivate: bool = True

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, _ = self._norms(train)
        y = x
        if self.preactivate:
            y = Activation(self.activation, name="act1")(apply_norm(norm, y, "norm1"))
        y = self._conv(self.features, 3, name="conv1")(y)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = downsample_avg(self._conv(self.features, 3, name="conv2")(y))
        skip = x
        if x.shape[-1] != self.features:
            skip = self._conv(self.features, 1, name="shortcut_conv")(skip)
        return downsample_avg(skip) + self.res_scale * y


BLOCKS = {"basic": BasicBlock, "preact": PreActBlock, "bottleneck": BottleneckBlock}


def count_params(params) -> int:
    """Number of scalars in a parameter tree."""
    return sum(int(p.size) for p in jax.tree.leaves(params))
