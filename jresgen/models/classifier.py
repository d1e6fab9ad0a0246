"""Image classifiers: a LeNet-style CNN and CIFAR-style ResNets built from jresgen.nn blocks.

Inputs x [B, H, W, C] in [0, 1]; outputs logits [B, num_classes]. With `features_only=True`
a model returns its penultimate features [B, D] instead (what FID/KID-style metrics embed).

  LeNet:     conv5x5-relu-maxpool - conv5x5-relu-maxpool - dense-relu - dense-relu - dense
  ResNet-6n+2 (He et al. 2016, CIFAR): conv3x3(16)-BN-relu, three stages of n BasicBlocks
             (16, 32, 64 features; stride 2 at the start of stages 2 and 3), global average
             pool, dense. Shortcuts that change shape are 1x1 conv + BN (the paper's option B;
             its CIFAR nets used option A, zero-padded identity, which has no parameters).
  ResNet-18: the ImageNet layout (2, 2, 2, 2 blocks of 64..512) with a 3x3 stride-1 stem and
             no max-pool, the usual adaptation to 32x32 inputs.
  ResNet-50: the ImageNet network as torchvision builds it (v1.5): 7x7 stride-2 stem conv,
             BN, ReLU, 3x3 stride-2 max-pool, then 3, 4, 6, 3 BottleneckBlocks of 64..512
             (x4 expansion) with the stride on the 3x3 conv; 25.6 M parameters at 1000 classes.
BatchNorm statistics are averaged over `axis_name` under pmap, so N devices normalise with
the global batch's statistics exactly as one device does.
"""
import functools
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jresgen.nn import Activation, BasicBlock, BottleneckBlock, apply_norm, make_norm, max_pool_2x2

# ResNet.stem -> (kernel, stride, max-pool after it)
STEMS = {"cifar": (3, 1, False), "imagenet": (7, 2, True)}


class LeNet(nn.Module):
    num_classes: int = 10
    conv_features: Sequence[int] = (6, 16)
    hidden: Sequence[int] = (120, 84)
    axis_name: str | None = None  # unused (no BatchNorm); kept for one build() signature
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False, features_only: bool = False):
        for i, f in enumerate(self.conv_features):
            x = nn.relu(nn.Conv(f, (5, 5), dtype=self.dtype, name=f"conv{i + 1}")(x))
            x = max_pool_2x2(x)
        x = x.reshape(x.shape[0], -1)
        for i, h in enumerate(self.hidden):
            x = nn.relu(nn.Dense(h, dtype=self.dtype, name=f"dense{i + 1}")(x))
        if features_only:
            return x.astype(jnp.float32)
        return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(x).astype(jnp.float32)


class ResNet(nn.Module):
    stage_sizes: Sequence[int]
    stage_features: Sequence[int]
    num_classes: int = 10
    norm: str = "batch"
    activation: str = "relu"
    zero_init_residual: bool = False
    block: str = "basic"  # basic | bottleneck
    stem: str = "cifar"  # a key of STEMS
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False, features_only: bool = False):
        norm = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype)
        kernel, stride, pool = STEMS[self.stem]
        x = nn.Conv(self.stage_features[0], (kernel, kernel), strides=(stride, stride),
                    use_bias=self.norm == "none", dtype=self.dtype, name="stem_conv")(x)
        x = Activation(self.activation, name="stem_act")(apply_norm(norm, x, "stem_norm"))
        if pool:
            x = nn.max_pool(x, (3, 3), strides=(2, 2), padding="SAME")
        block = {"basic": functools.partial(BasicBlock, post_activation=True),
                 "bottleneck": BottleneckBlock}[self.block]
        for s, (n, f) in enumerate(zip(self.stage_sizes, self.stage_features)):
            for b in range(n):
                x = block(f, strides=2 if s > 0 and b == 0 else 1, norm=self.norm,
                          activation=self.activation,
                          zero_init_residual=self.zero_init_residual,
                          axis_name=self.axis_name, dtype=self.dtype,
                          name=f"stage{s + 1}_block{b + 1}")(x, train)
        x = jnp.mean(x, axis=(1, 2)).astype(jnp.float32)
        if features_only:
            return x
        return nn.Dense(self.num_classes, dtype=self.dtype, name="head")(x).astype(jnp.float32)


_CIFAR_FEATURES = (16, 32, 64)
ResNet20 = functools.partial(ResNet, stage_sizes=(3, 3, 3), stage_features=_CIFAR_FEATURES)
ResNet32 = functools.partial(ResNet, stage_sizes=(5, 5, 5), stage_features=_CIFAR_FEATURES)
ResNet56 = functools.partial(ResNet, stage_sizes=(9, 9, 9), stage_features=_CIFAR_FEATURES)
ResNet18 = functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), stage_features=(64, 128, 256, 512))
ResNet50 = functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), stage_features=(64, 128, 256, 512),
                             block="bottleneck", stem="imagenet")

ARCHS = {"lenet": LeNet, "resnet20": ResNet20, "resnet32": ResNet32, "resnet56": ResNet56,
         "resnet18": ResNet18, "resnet50": ResNet50, "resnet": ResNet}


def build(cfg, axis_name=None) -> nn.Module:
    """The classifier a `config.model` section describes: `arch` names one of ARCHS; the
    other keys of the section are that class's fields (e.g. stage_features for a tiny net)."""
    if cfg.arch not in ARCHS:
        raise ValueError(f"unknown classifier arch {cfg.arch!r}; choose one of "
                         f"{', '.join(ARCHS)}")
    kwargs = {k: (tuple(v) if isinstance(v, list) else v)
              for k, v in cfg.to_dict().items() if k not in ("arch", "dtype")}
    return ARCHS[cfg.arch](axis_name=axis_name, dtype=jnp.dtype(cfg.get("dtype", "float32")),
                           **kwargs)


def penultimate_features(model: nn.Module, variables, x) -> jnp.ndarray:
    """x [B, H, W, C] -> the features the classifier's last layer sees, [B, D] (eval mode)."""
    return model.apply(variables, x, train=False, features_only=True)
