"""EDSR-style super-resolution nets in PyTorch: jresgen.models.sr.SRResNet for the settings
jresgen's SR configs use (no norm, ReLU, no upsampler activation).

    mean shift -> head conv3x3 -> N x [conv-ReLU-conv, *res_scale, + x] -> body conv3x3
    (+ head output) -> [conv3x3 to 4C, PixelShuffle(2)] per x2 stage -> tail conv3x3
    -> + mean (EDSR) or + bicubic(lr) (image_skip="bicubic")
"""
import torch
from torch import nn

from benchmarks.torch_reference.resize import BicubicUpsample

DIV2K_RGB_MEAN = (0.4488, 0.4371, 0.4040)


def conv3x3(cin, cout):
    # Flax's padding="SAME" for a 3x3 kernel at stride 1 is one pixel on every side.
    return nn.Conv2d(cin, cout, 3, padding=1)


class ResBlock(nn.Module):
    def __init__(self, features, res_scale=1.0):
        super().__init__()
        self.conv1 = conv3x3(features, features)
        self.conv2 = conv3x3(features, features)
        self.res_scale = res_scale

    def forward(self, x):
        return x + self.res_scale * self.conv2(torch.relu(self.conv1(x)))


class Upsampler(nn.Sequential):
    def __init__(self, features, scale):
        if scale in (2, 3):
            factors = [scale]
        elif scale > 0 and scale & (scale - 1) == 0:
            factors = [2] * (scale.bit_length() - 1)
        else:
            raise ValueError(f"scale must be 2, 3 or a power of two, got {scale}")
        layers = []
        for r in factors:
            layers += [conv3x3(features, features * r * r), nn.PixelShuffle(r)]
        super().__init__(*layers)


class SRResNet(nn.Module):
    """lr [B, 3, h, w] in [0, 1] -> [B, 3, h*scale, w*scale]."""

    def __init__(self, scale=2, num_blocks=16, features=64, res_scale=1.0, subtract_mean=True,
                 image_skip="none", channels=3):
        super().__init__()
        if image_skip not in ("none", "bicubic"):
            raise ValueError(f"image_skip must be 'none' or 'bicubic', got {image_skip!r}")
        mean = torch.tensor(DIV2K_RGB_MEAN[:channels]) if subtract_mean else torch.zeros(channels)
        self.register_buffer("mean", mean.view(1, channels, 1, 1))
        self.head = conv3x3(channels, features)
        self.blocks = nn.Sequential(*[ResBlock(features, res_scale) for _ in range(num_blocks)])
        self.body_conv = conv3x3(features, features)
        self.upsampler = Upsampler(features, scale)
        self.tail = conv3x3(features, channels)
        self.bicubic = BicubicUpsample(scale) if image_skip == "bicubic" else None

    def forward(self, lr):
        x = self.head(lr - self.mean)
        y = self.body_conv(self.blocks(x))
        out = self.tail(self.upsampler(x + y))
        return out + (self.mean if self.bicubic is None else self.bicubic(lr))


def from_config(model_cfg) -> SRResNet:
    """The reference for a jresgen `config.model` section; refuses settings it does not cover."""
    unsupported = {k: model_cfg[k] for k, ok in (("norm", "none"), ("activation", "relu"),
                                                  ("upsampler_activation", ""))
                   if (model_cfg[k] or "") != ok}
    if unsupported:
        raise NotImplementedError(f"the PyTorch SR reference covers norm=none, activation=relu, "
                                  f"no upsampler activation; got {unsupported}")
    return SRResNet(scale=model_cfg.scale, num_blocks=model_cfg.num_blocks,
                    features=model_cfg.features, res_scale=model_cfg.res_scale,
                    subtract_mean=model_cfg.subtract_mean, image_skip=model_cfg.image_skip)
