"""Residual blocks as pure linen modules, NHWC.

Every block takes `norm` ("none", "batch", "instance", "group", "layer") and `activation` by
name, and `train` at call time (BatchNorm's batch statistics). When the channel count or the
stride changes, the shortcut becomes a projection (1x1 conv, plus norm if the block has one).
`res_scale` multiplies the residual branch before the addition (EDSR uses 0.1 for wide nets).
`spectral_norm=True` divides every conv kernel by its largest singular value (Miyato et al.
2018; jresgen/nn/spectral_norm.py), the power-iteration vectors updated only when `train`.
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from jresgen.nn.activations import Activation
from jresgen.nn.conv3x3 import PADDINGS, Conv3x3
from jresgen.nn.norms import ConditionalBatchNorm, apply_norm, make_norm
from jresgen.nn.spectral_norm import spectral_normalized
from jresgen.nn.resample_conv import Conv3x3AvgPool, UpsampleConv3x3


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
    spectral_norm: bool = False  # SNGAN's discriminator: every conv spectrally normalised
    kernel_init: Any = nn.initializers.lecun_normal()
    # "SAME" pads with zeros; "REFLECT" mirrors the border (style transfer's TransformerNet,
    # where zero borders show as dark frames). Stride-1 convs only: flax pads strided REFLECT
    # convs asymmetrically, unlike PyTorch's ReflectionPad2d.
    padding: str = "SAME"

    def _conv(self, features, kernel, strides=1, name=None, train=False):
        """A conv `f(x)`; spectrally normalised when the block says so."""
        if strides != 1 and self.padding != "SAME":
            raise ValueError(f"padding {self.padding!r} is for stride-1 blocks only")
        if kernel == 3 and strides == 1 and self.padding in PADDINGS:  # the same, faster
            conv = Conv3x3(features, use_bias=self._bias(), dtype=self.dtype,
                           kernel_init=self.kernel_init, padding=self.padding, name=name)
        else:
            conv = nn.Conv(features, (kernel, kernel), strides=(strides, strides),
                           use_bias=self._bias(), padding=self.padding,
                           dtype=self.dtype, kernel_init=self.kernel_init, name=name)
        return spectral_normalized(conv, update=train) if self.spectral_norm else conv

    def _upsample_conv3x3(self, features, name, train):
        """`f(x) = conv3x3(upsample_nearest(x))`, with the parameters of `_conv(features, 3)`;
        at the input's resolution (jresgen/nn/resample_conv.py) where the padding is zeros."""
        return self._resampling_conv(UpsampleConv3x3, lambda conv, x: conv(upsample_nearest(x)),
                                     features, name, train)

    def _conv3x3_avg_pool(self, features, name, train):
        """`f(x) = downsample_avg(conv3x3(x))`, with the parameters of `_conv(features, 3)`;
        one stride-2 convolution (jresgen/nn/resample_conv.py) where the padding is zeros."""
        return self._resampling_conv(Conv3x3AvgPool, lambda conv, x: downsample_avg(conv(x)),
                                     features, name, train)

    def _resampling_conv(self, layer, reference, features, name, train):
        """`layer` (a KernelLayer with a 3x3 conv's parameters), or `reference(conv, x)` with
        the plain conv where the padding is not zeros."""
        if self.padding != "SAME":
            conv = self._conv(features, 3, name=name, train=train)
            return lambda x: reference(conv, x)
        conv = layer(features, use_bias=self._bias(), dtype=self.dtype,
                     kernel_init=self.kernel_init, name=name)
        return spectral_normalized(conv, update=train) if self.spectral_norm else conv

    def _bias(self) -> bool:
        return self.norm == "none" if self.use_bias is None else self.use_bias

    def _norms(self, train):
        norm = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype)
        last = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype,
                         zero_scale=self.zero_init_residual)
        return norm, last

    def _shortcut(self, x, out_features, train, preactivated=None):
        if x.shape[-1] == out_features and self.strides == 1:
            return x
        source = x if preactivated is None else preactivated
        y = self._conv(out_features, 1, self.strides, name="shortcut_conv", train=train)(source)
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
        y = self._conv(self.features, 3, self.strides, name="conv1", train=train)(x)
        y = apply_norm(norm, y, "norm1")
        y = Activation(self.activation, name="act1")(y)
        y = self._conv(self.features, 3, name="conv2", train=train)(y)
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
        y = self._conv(self.features, 3, self.strides, name="conv1", train=train)(pre)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = self._conv(self.features, 3, name="conv2", train=train)(y)
        return self._shortcut(x, self.features, train, preactivated=pre) + self.res_scale * y


class BottleneckBlock(_BlockBase):
    """conv1x1-conv3x3(stride)-conv1x1 expanding to `features * expansion`, plus shortcut."""
    expansion: int = 4

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, last = self._norms(train)
        out_features = self.features * self.expansion
        y = self._conv(self.features, 1, name="conv1", train=train)(x)
        y = Activation(self.activation, name="act1")(apply_norm(norm, y, "norm1"))
        y = self._conv(self.features, 3, self.strides, name="conv2", train=train)(y)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        y = self._conv(out_features, 1, name="conv3", train=train)(y)
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
    norm-act-upsample-conv3x3-norm-act-conv3x3; shortcut: upsample, then a 1x1 conv when the
    channels change or `learnable_shortcut` (SNGAN's generator always has one).

    The upsample-conv3x3 pair runs at the input's resolution (`UpsampleConv3x3`), without
    the upsampled intermediate. With `num_classes` > 0 both norms are conditional BatchNorms
    (Dumoulin et al., de Vries et al.; the cGAN generator of Miyato & Koyama 2018): call it
    with `labels` [B]."""
    learnable_shortcut: bool = False
    num_classes: int = 0

    def _norm(self, x, name, train, labels):
        if self.num_classes:
            return ConditionalBatchNorm(self.num_classes, use_running_average=not train,
                                        axis_name=self.axis_name, dtype=self.dtype,
                                        name=name)(x, labels)
        norm, _ = self._norms(train)
        return apply_norm(norm, x, name)

    @nn.compact
    def __call__(self, x, train: bool = False, labels=None):
        y = Activation(self.activation, name="act1")(self._norm(x, "norm1", train, labels))
        y = self._upsample_conv3x3(self.features, name="conv1", train=train)(y)
        y = Activation(self.activation, name="act2")(self._norm(y, "norm2", train, labels))
        y = self._conv(self.features, 3, name="conv2", train=train)(y)
        skip = upsample_nearest(x)
        if x.shape[-1] != self.features or self.learnable_shortcut:
            skip = self._conv(self.features, 1, name="shortcut_conv", train=train)(skip)
        return skip + self.res_scale * y


class ResidualDownBlock(_BlockBase):
    """Pre-activation block that halves the resolution (SNGAN discriminator block):
    [norm-]act-conv3x3-[norm-]act-conv3x3-avgpool; shortcut 1x1 conv then avgpool.
    `preactivate=False` is SNGAN's first discriminator block (no activation on the input);
    `downsample=False` keeps the resolution (SNGAN's last discriminator blocks), the shortcut
    then a 1x1 conv only when the channels change or `learnable_shortcut`. The conv3x3-avgpool
    pair is one stride-2 4x4 convolution (`Conv3x3AvgPool`), the pooled pixels only."""
    preactivate: bool = True
    downsample: bool = True
    learnable_shortcut: bool = False

    @nn.compact
    def __call__(self, x, train: bool = False):
        norm, _ = self._norms(train)
        pool = downsample_avg if self.downsample else (lambda v: v)
        y = x
        if self.preactivate:
            y = Activation(self.activation, name="act1")(apply_norm(norm, y, "norm1"))
        y = self._conv(self.features, 3, name="conv1", train=train)(y)
        y = Activation(self.activation, name="act2")(apply_norm(norm, y, "norm2"))
        if self.downsample:
            y = self._conv3x3_avg_pool(self.features, name="conv2", train=train)(y)
        else:
            y = self._conv(self.features, 3, name="conv2", train=train)(y)
        skip = x
        if x.shape[-1] != self.features or self.learnable_shortcut:
            # 1x1 conv and average pooling commute: conv-then-pool is SNGAN's first block's
            # pool-then-conv
            skip = self._conv(self.features, 1, name="shortcut_conv", train=train)(skip)
        return pool(skip) + self.res_scale * y


BLOCKS = {"basic": BasicBlock, "preact": PreActBlock, "bottleneck": BottleneckBlock}


def count_params(params) -> int:
    """Number of scalars in a parameter tree."""
    return sum(int(p.size) for p in jax.tree.leaves(params))
