"""GAN generators and discriminators: DCGAN (Radford et al. 2016) and the ResNet layouts of
SNGAN (Miyato et al. 2018), with class conditioning (conditional BatchNorm in G, projection
discriminator, Miyato & Koyama 2018). NHWC; images in [-1, 1].

  DCGAN G:  z [B, Z] -> convT4x4 (1 -> 4x4) -BN-ReLU- n x [convT4x4 stride 2] (BN-ReLU between,
            widths g_features * 2^(n-1-i)) -> tanh; n = log2(resolution / 4).
  DCGAN D:  n x [conv4x4 stride 2 - (BN from the second on) - LeakyReLU(0.2)] (widths
            d_features * 2^i) -> conv4x4 valid -> logit.
  ResNet G: z [B, Z] -> linear -> [B, 4, 4, F0] -> up-sampling residual blocks (each doubles)
            -> BN-ReLU-conv3x3-tanh.  A spatial z [B, h, w, Z] (texture GAN) goes through the
            same linear per position, so the generator is fully convolutional: any output size.
  ResNet D: down-sampling residual blocks (the first without pre-activation), ReLU, global
            *sum* pooling, linear -> logit; spectral normalisation on every layer. With classes,
            the projection term <embed(y), h> is added to the logit. Fully convolutional up to
            the pooling, so it scores patches of any size.

`build_generator(cfg)` / `build_discriminator(cfg)` read a config's `model` section:
arch ("dcgan" | "sngan"), resolution, channels, z_dim, num_classes, g_features, d_features,
g_blocks / d_blocks (ResNet widths; empty: the SNGAN layout for the resolution), dtype.
"""
import math
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from jresgen.nn import (Conv4x4S2, ResidualDownBlock, ResidualUpBlock, UpConv4x4, make_norm,
                        rematerialized, spectral_normalized)

DCGAN_INIT = nn.initializers.normal(0.02)  # the DCGAN paper's N(0, 0.02) for every weight


def _bn_scale_init(key, shape, dtype=jnp.float32):
    """DCGAN's BatchNorm scale ~ N(1, 0.02)."""
    return 1.0 + 0.02 * nn.initializers.normal(1.0)(key, shape, dtype)


def _num_doublings(resolution: int) -> int:
    n = int(round(math.log2(resolution / 4))) if resolution >= 8 else 0
    if resolution < 8 or 4 * 2 ** n != resolution:
        raise ValueError(f"GAN resolution must be 4 times a power of two (8, 16, 32, 64, ...), "
                         f"got {resolution}")
    return n


class DCGANGenerator(nn.Module):
    resolution: int = 64
    channels: int = 3
    features: int = 64  # ngf: the last hidden layer's width
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, train: bool = False, labels=None):
        n = _num_doublings(self.resolution)
        norm = make_norm("batch", train=train, axis_name=self.axis_name, dtype=self.dtype)
        x = z.reshape(z.shape[0], 1, 1, -1).astype(self.dtype)
        # PyTorch's ConvTranspose2d(k, s, p) is a transposed conv with k - 1 - p padding
        x = nn.ConvTranspose(self.features * 2 ** (n - 1), (4, 4), padding=((3, 3), (3, 3)),
                             use_bias=False, transpose_kernel=True, kernel_init=DCGAN_INIT,
                             dtype=self.dtype, name="convT0")(x)
        for i in range(n):
            x = norm(scale_init=_bn_scale_init, name=f"norm{i}")(x)
            x = nn.relu(x)
            last = i == n - 1
            # ConvTranspose2d(4, 2, 1), as a 3x3 conv + pixel shuffle (see UpConv4x4: same
            # parameters, ~9x faster gradient on XLA:CPU)
            x = UpConv4x4(self.channels if last else self.features * 2 ** (n - 2 - i),
                          kernel_init=DCGAN_INIT, dtype=self.dtype, name=f"convT{i + 1}")(x)
        return jnp.tanh(x).astype(jnp.float32)


class DCGANDiscriminator(nn.Module):
    resolution: int = 64
    features: int = 64  # ndf: the first layer's width
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False, labels=None):
        n = _num_doublings(self.resolution)
        norm = make_norm("batch", train=train, axis_name=self.axis_name, dtype=self.dtype)
        x = x.astype(self.dtype)
        for i in range(n):
            x = Conv4x4S2(self.features * 2 ** i, use_bias=False, kernel_init=DCGAN_INIT,
                          dtype=self.dtype, name=f"conv{i}")(x)
            if i:
                x = norm(scale_init=_bn_scale_init, name=f"norm{i}")(x)
            x = nn.leaky_relu(x, 0.2)
        x = nn.Conv(1, (4, 4), padding="VALID", use_bias=False, kernel_init=DCGAN_INIT,
                    dtype=self.dtype, name=f"conv{n}")(x)
        return x.reshape(x.shape[0]).astype(jnp.float32)


def sngan_generator_blocks(resolution: int, width: int) -> tuple[int, ...]:
    """SNGAN's generator widths: constant `width` at 32x32 (CIFAR: 256); halving from
    `width` at 64x64 and above (Mimicry's SNGAN-64: 1024 -> 512, 256, 128, 64)."""
    n = _num_doublings(resolution)
    if resolution <= 32:
        return (width,) * n
    return tuple(max(width // 2 ** (i + 1), 1) for i in range(n))


def sngan_discriminator_blocks(resolution: int, width: int) -> tuple[tuple[int, bool], ...]:
    """SNGAN's discriminator (width, downsample) per block: at 32x32 (CIFAR, width 128) two
    down-sampling blocks then two that keep 8x8; at 64x64 and above, doubling widths ending at
    `width` (Mimicry's SNGAN-64: 64, 128, 256, 512 down, then 1024)."""
    n = _num_doublings(resolution)
    if resolution <= 32:
        return tuple((width, i < n - 1) for i in range(n + 1))
    return tuple((max(width // 2 ** (n - i), 1), True) for i in range(n)) + ((width, False),)


class ResNetGenerator(nn.Module):
    blocks: Sequence[int]  # width of each up-sampling block
    linear_features: int  # width of the 4x4 map the linear layer makes
    channels: int = 3
    num_classes: int = 0  # > 0: conditional BatchNorm in every block
    axis_name: str | None = None
    dtype: Any = jnp.float32
    remat: str = "none"  # rematerialise each residual block (jresgen/nn/remat.py)

    @nn.compact
    def __call__(self, z, train: bool = False, labels=None):
        spatial = z.ndim == 4
        # No biases before BatchNorm, which removes them (they would only collect noise)
        x = nn.Dense(self.linear_features if spatial else 16 * self.linear_features,
                     use_bias=False, dtype=self.dtype,
                     kernel_init=nn.initializers.xavier_uniform(), name="linear")(
                         z.astype(self.dtype))
        if not spatial:
            x = x.reshape(x.shape[0], 4, 4, self.linear_features)
        block = rematerialized(ResidualUpBlock, self.remat)
        for i, f in enumerate(self.blocks):
            x = block(f, norm="batch", activation="relu", learnable_shortcut=True,
                                num_classes=self.num_classes, axis_name=self.axis_name,
                                dtype=self.dtype,
                                kernel_init=nn.initializers.xavier_uniform(),
                                name=f"block{i + 1}")(x, train, labels)
        norm = make_norm("batch", train=train, axis_name=self.axis_name, dtype=self.dtype)
        x = nn.relu(norm(name="out_norm")(x))
        x = nn.Conv(self.channels, (3, 3), dtype=self.dtype,
                    kernel_init=nn.initializers.xavier_uniform(), name="out_conv")(x)
        return jnp.tanh(x).astype(jnp.float32)


class ResNetDiscriminator(nn.Module):
    blocks: Sequence[tuple[int, bool]]  # (width, downsample) per block
    num_classes: int = 0  # > 0: projection discriminator
    dtype: Any = jnp.float32
    remat: str = "none"

    @nn.compact
    def __call__(self, x, train: bool = False, labels=None):
        x = x.astype(self.dtype)
        block = rematerialized(ResidualDownBlock, self.remat)
        for i, (f, down) in enumerate(self.blocks):
            x = block(f, norm="none", activation="relu", preactivate=i > 0,
                                  downsample=down, learnable_shortcut=down,
                                  spectral_norm=True, dtype=self.dtype,
                                  kernel_init=nn.initializers.xavier_uniform(),
                                  name=f"block{i + 1}")(x, train)
        h = jnp.sum(nn.relu(x), axis=(1, 2)).astype(jnp.float32)  # global sum pooling
        out = spectral_normalized(nn.Dense(1, kernel_init=nn.initializers.xavier_uniform(),
                                           name="linear"), update=train)(h)[:, 0]
        if self.num_classes:
            embed = spectral_normalized(nn.Embed(self.num_classes, h.shape[-1],
                                                 embedding_init=nn.initializers.xavier_uniform(),
                                                 name="embed"), update=train)
            out = out + jnp.sum(embed(labels) * h, axis=-1)
        return out


def _tuple(v):
    return tuple(tuple(x) if isinstance(x, list) else x for x in v)


def build_generator(cfg, axis_name=None) -> nn.Module:
    dtype = jnp.dtype(cfg.get("dtype", "float32"))
    if cfg.arch == "dcgan":
        if cfg.num_classes:
            raise ValueError("class conditioning is implemented for arch 'sngan' only")
        return DCGANGenerator(cfg.resolution, cfg.channels, cfg.g_features, axis_name, dtype)
    if cfg.arch == "sngan":
        blocks = _tuple(cfg.g_blocks) or sngan_generator_blocks(cfg.resolution, cfg.g_features)
        return ResNetGenerator(blocks, cfg.g_features, cfg.channels, cfg.num_classes, axis_name,
                               dtype, remat=cfg.get("remat", "none"))
    raise ValueError(f"unknown GAN arch {cfg.arch!r}; choose dcgan or sngan")


def build_discriminator(cfg, axis_name=None) -> nn.Module:
    dtype = jnp.dtype(cfg.get("dtype", "float32"))
    if cfg.arch == "dcgan":
        return DCGANDiscriminator(cfg.resolution, cfg.d_features, axis_name, dtype)
    if cfg.arch == "sngan":
        blocks = _tuple(cfg.d_blocks) or sngan_discriminator_blocks(cfg.resolution,
                                                                    cfg.d_features)
        return ResNetDiscriminator(blocks, cfg.num_classes, dtype, remat=cfg.get("remat", "none"))
    raise ValueError(f"unknown GAN arch {cfg.arch!r}; choose dcgan or sngan")
