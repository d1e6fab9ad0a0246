"""Feed-forward texture network in PyTorch: jresgen.models.texture.TextureNet (Ulyanov et al.
2016 with residual blocks and instance norm) and the loss jresgen/tasks/texture_net.py trains it
with: the relative Gram error, summed over the layers of jresgen's random multi-scale features
(and, with config.loss.pyramid, over those of the outputs average-pooled by 2, 4, ...; with
config.loss.batch_gram, of the batch's mean Gram), with the same fixed filters and exemplar
Gram matrices.

    per scale k (coarsest first): conv3x3(noise_k) -> block;  joined: cat(up2(y), z_k) -> block
    block = conv3x3-IN-LeakyReLU(0.2)-conv3x3-IN (+ 1x1 conv-IN projection when channels change)
    -> conv1x1 -> sigmoid
"""
import torch
import torch.nn.functional as F
from torch import nn

from benchmarks.torch_reference.style import RandomFeatures, gram_matrix


class BasicBlock(nn.Module):
    """jresgen.nn.BasicBlock with instance norm: convs without bias (a norm follows)."""

    def __init__(self, cin, features, slope=0.2, padding_mode="zeros"):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, features, 3, padding=1, bias=False, padding_mode=padding_mode)
        self.norm1 = nn.InstanceNorm2d(features, affine=True)
        self.conv2 = nn.Conv2d(features, features, 3, padding=1, bias=False,
                               padding_mode=padding_mode)
        self.norm2 = nn.InstanceNorm2d(features, affine=True)
        self.shortcut = None
        if cin != features:
            self.shortcut = nn.Sequential(nn.Conv2d(cin, features, 1, bias=False),
                                          nn.InstanceNorm2d(features, affine=True))
        self.slope = slope

    def forward(self, x):
        y = F.leaky_relu(self.norm1(self.conv1(x)), self.slope)
        y = self.norm2(self.conv2(y))
        return (x if self.shortcut is None else self.shortcut(x)) + y


class TextureNet(nn.Module):
    """noises: list of [B, Cz, H/2^k, W/2^k], k = 0 (finest) .. scales-1 -> [B, C, H, W]."""

    def __init__(self, scales=5, features=32, noise_channels=3, blocks=1, channels=3,
                 padding_mode="zeros"):
        """features, blocks: an int for every scale, or one per scale (finest first)."""
        super().__init__()
        self.scales = scales
        f = [features] * scales if isinstance(features, int) else list(features)
        n = [blocks] * scales if isinstance(blocks, int) else list(blocks)
        self.noise_convs = nn.ModuleList(nn.Conv2d(noise_channels, f[k], 3, padding=1,
                                                   padding_mode=padding_mode)
                                         for k in range(scales))
        self.noise_blocks = nn.ModuleList(
            nn.Sequential(*[BasicBlock(f[k], f[k], padding_mode=padding_mode)
                            for _ in range(n[k])])
            for k in range(scales))
        self.join_blocks = nn.ModuleList(
            nn.Sequential(*[BasicBlock(f[k + 1] + f[k] if i == 0 else f[k], f[k],
                                       padding_mode=padding_mode)
                            for i in range(n[k])])
            for k in range(scales - 1))
        self.to_image = nn.Conv2d(f[0], channels, 1)

    def forward(self, noises):
        def branch(k):
            return self.noise_blocks[k](self.noise_convs[k](noises[k]))
        y = branch(self.scales - 1)
        for k in reversed(range(self.scales - 1)):
            y = torch.cat([F.interpolate(y, scale_factor=2, mode="nearest"), branch(k)], 1)
            y = self.join_blocks[k](y)
        return torch.sigmoid(self.to_image(y))


class GramLoss(nn.Module):
    """sum over terms of mean((G_t - T_t)^2) / mean(T_t^2), grey outputs seen as three equal
    channels (jresgen.tasks.texture_net.texture_loss). The terms run over pyramid levels p
    (the images average-pooled by 2^p; p = 0 only without config.loss.pyramid), and at each
    over that level's feature layers (jresgen/texture/pyramid.py). `batch_gram`: G_t is the
    mean of the samples' Gram matrices (config.loss.batch_gram), else each sample's."""

    def __init__(self, levels, target_grams, batch_gram=False):
        """levels: [(p, RandomFeatures)]; target_grams: one per term, level by level."""
        super().__init__()
        self.batch_gram = batch_gram
        self.pools = [p for p, _ in levels]
        self.features = nn.ModuleList(f for _, f in levels)
        self.num_layers = len(target_grams)
        for i, g in enumerate(target_grams):
            self.register_buffer(f"gram{i}", g)

    def forward(self, images, _unused=None):
        images = images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images
        loss, i = images.new_zeros(()), 0
        for p, features in zip(self.pools, self.features):
            pooled = images if p == 0 else F.avg_pool2d(images, 2 ** p)
            for f in features(pooled):
                t, g = getattr(self, f"gram{i}"), gram_matrix(f)
                g = g.mean(0, keepdim=True) if self.batch_gram else g
                loss = loss + torch.mean((g - t) ** 2) / (torch.mean(t ** 2) + 1e-12)
                i += 1
        return loss


def from_config(model_cfg, channels: int) -> TextureNet:
    if model_cfg.norm != "instance" or model_cfg.activation != "leaky_relu":
        raise NotImplementedError("the PyTorch TextureNet covers instance norm and leaky ReLU")
    # jresgen's "SAME" / "CIRCULAR" padding is torch's zeros / circular padding_mode
    padding_mode = {"SAME": "zeros", "CIRCULAR": "circular"}[model_cfg.get("padding", "SAME")]
    return TextureNet(model_cfg.scales, model_cfg.features, model_cfg.noise_channels,
                      model_cfg.blocks, channels, padding_mode)


def loss_from_config(config) -> GramLoss:
    """The GramLoss of a jresgen texture-net config: the same fixed filters and exemplar Grams
    jresgen's init_state computes (jresgen.tasks.texture_net.feature_statistics)."""
    import numpy as np

    from benchmarks.torch_reference.transfer import conv_kernel
    from jresgen.tasks.texture_net import (batch_gram, feature_statistics, fine_ramp,
                                           level_weights, loss_terms, random_shift,
                                           shift_distances)
    pooling = config.features.get("pooling", "average")
    if config.features.kind != "random" or pooling != "average":
        raise NotImplementedError("the PyTorch Gram loss covers the average-pooled random "
                                  "features only")
    if (shift_distances(config) or random_shift(config)
            or any(w != 1.0 for w in level_weights(config)) or float(fine_ramp(config, 0)) != 1.0):
        raise NotImplementedError("the PyTorch Gram loss has no loss.shift_grams, random_shift, "
                                  "level_weights or fine_ramp_steps (leave them at their defaults)")
    extractor, targets = feature_statistics(config)
    params = extractor.params
    kernels = {n: conv_kernel(params[n]["kernel"]) for n in params}
    biases = {n: torch.from_numpy(np.array(params[n]["bias"])) for n in params}
    return GramLoss([(p, RandomFeatures(layers.layer_names, kernels, biases))
                     for p, layers in loss_terms(config)],
                    [torch.from_numpy(np.array(g)) for g in targets], batch_gram(config))
