"""jresgen's GANs (jresgen.models.gan, jresgen.tasks.gan) in PyTorch: the DCGAN generator and
discriminator in the pytorch/examples layout, the SNGAN ResNet generator and spectrally
normalised discriminator in Mimicry's block layout, and the GAN train step the way a PyTorch
user writes it: n_dis discriminator updates, then one generator update, two Adam optimizers.

Where jresgen's layout is not the usual PyTorch spelling, the reference follows jresgen (the
FLOPs and the arithmetic must be the same), and the comment says so:
- Flax's ConvTranspose(k, stride s, padding k-1-p, transpose_kernel=True) is PyTorch's
  ConvTranspose2d(k, s, p); its kernel [kh, kw, out, in] transfers as [in, out, kh, kw]
  without a spatial flip (transfer.conv_kernel; tested).
- The SN discriminator's first block projects its shortcut with the 1x1 conv *before* average
  pooling (jresgen's order; Mimicry pools first, which gives the same values and 4x fewer FLOPs
  on that one small conv).
- Spectral norm is torch.nn.utils.spectral_norm (the hook version): its power iteration
  (v = W^T u, u = W v, sigma = u^T W v, u stored) is Flax's SpectralNorm's step for step, so
  jresgen's stored u vector loaded as `weight_u` gives the same training-mode forward.
  torch.nn.utils.parametrizations.spectral_norm iterates in the other order and cannot.
  In eval mode the two libraries differ by design (Flax still iterates once, unstored;
  PyTorch uses the stored u and v): compare them in training mode.
- The SN discriminator scores real and fake in one concatenated call (one power iteration per
  D update, as jresgen does); DCGAN's in two calls, each with its own BatchNorm statistics.
- D's parameters are frozen (requires_grad False) during the generator update, as StudioGAN
  and BigGAN-PyTorch do: jresgen differentiates G's loss w.r.t. G's parameters only.
"""
import math

import torch
import torch.nn.functional as F
from torch import nn


def batch_norm(c):
    # Flax BatchNorm(momentum=0.9, epsilon=1e-5) is PyTorch's momentum 0.1, eps 1e-5.
    return nn.BatchNorm2d(c, eps=1e-5, momentum=0.1)


def num_doublings(resolution: int) -> int:
    n = int(round(math.log2(resolution / 4)))
    if resolution < 8 or 4 * 2 ** n != resolution:
        raise ValueError(f"GAN resolution must be 4 times a power of two, got {resolution}")
    return n


class DCGANGenerator(nn.Module):
    """z [B, Z] -> convT4x4 (1 -> 4x4) -> n x [BN-ReLU-convT4x4 stride 2] -> tanh."""

    def __init__(self, resolution=64, channels=3, features=64, z_dim=100):
        super().__init__()
        n = num_doublings(resolution)
        widths = [features * 2 ** (n - 1 - i) for i in range(n)] + [channels]
        layers = [nn.ConvTranspose2d(z_dim, widths[0], 4, 1, 0, bias=False)]
        for i in range(n):
            layers += [batch_norm(widths[i]), nn.ReLU(),
                       nn.ConvTranspose2d(widths[i], widths[i + 1], 4, 2, 1, bias=False)]
        self.main = nn.Sequential(*layers, nn.Tanh())

    def forward(self, z):
        return self.main(z.view(z.shape[0], -1, 1, 1))


class DCGANDiscriminator(nn.Module):
    """n x [conv4x4 stride 2 - (BN from the second on) - LeakyReLU(0.2)] -> conv4x4 valid."""

    def __init__(self, resolution=64, channels=3, features=64):
        super().__init__()
        n = num_doublings(resolution)
        layers, c = [], channels
        for i in range(n):
            layers.append(nn.Conv2d(c, features * 2 ** i, 4, 2, 1, bias=False))
            if i:
                layers.append(batch_norm(features * 2 ** i))
            layers.append(nn.LeakyReLU(0.2))
            c = features * 2 ** i
        layers.append(nn.Conv2d(c, 1, 4, 1, 0, bias=False))
        self.main = nn.Sequential(*layers)

    def forward(self, x):
        return self.main(x).view(x.shape[0])  # logits, no sigmoid (BCEWithLogitsLoss)


def _up(x):
    return F.interpolate(x, scale_factor=2, mode="nearest")


class GBlock(nn.Module):
    """BN-ReLU-upsample-conv3x3-BN-ReLU-conv3x3, shortcut upsample-conv1x1; no conv biases
    (jresgen's: a BatchNorm follows every one of them, in this block or the next)."""

    def __init__(self, cin, cout):
        super().__init__()
        self.b1, self.b2 = batch_norm(cin), batch_norm(cout)
        self.c1 = nn.Conv2d(cin, cout, 3, 1, 1, bias=False)
        self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.c_sc = nn.Conv2d(cin, cout, 1, 1, 0, bias=False)

    def forward(self, x):
        h = self.c1(_up(F.relu(self.b1(x))))
        h = self.c2(F.relu(self.b2(h)))
        return self.c_sc(_up(x)) + h


class ResNetGenerator(nn.Module):
    """z [B, Z] -> linear (no bias) -> [B, F, 4, 4] -> up blocks -> BN-ReLU-conv3x3-tanh."""

    def __init__(self, blocks, linear_features, channels=3, z_dim=128):
        super().__init__()
        self.linear_features = linear_features
        self.l1 = nn.Linear(z_dim, 16 * linear_features, bias=False)
        widths = [linear_features, *blocks]
        self.blocks = nn.ModuleList(GBlock(a, b) for a, b in zip(widths, widths[1:]))
        self.b_out = batch_norm(widths[-1])
        self.c_out = nn.Conv2d(widths[-1], channels, 3, 1, 1)

    def forward(self, z):
        h = self.l1(z).view(z.shape[0], self.linear_features, 4, 4)
        for block in self.blocks:
            h = block(h)
        return torch.tanh(self.c_out(F.relu(self.b_out(h))))


def sn(module):
    return nn.utils.spectral_norm(module)  # one power iteration per training forward, eps 1e-12


class DBlock(nn.Module):
    """[ReLU-]conv3x3-ReLU-conv3x3-[avgpool]; shortcut [conv1x1-][avgpool]; spectral norm on
    every conv. `preactivate=False` is SNGAN's first block ('optimized' block)."""

    def __init__(self, cin, cout, downsample=True, preactivate=True, learnable_shortcut=False):
        super().__init__()
        self.downsample, self.preactivate = downsample, preactivate
        self.c1 = sn(nn.Conv2d(cin, cout, 3, 1, 1))
        self.c2 = sn(nn.Conv2d(cout, cout, 3, 1, 1))
        self.c_sc = (sn(nn.Conv2d(cin, cout, 1, 1, 0))
                     if learnable_shortcut or cin != cout else None)

    def _pool(self, x):
        return F.avg_pool2d(x, 2) if self.downsample else x

    def forward(self, x):
        h = F.relu(x) if self.preactivate else x
        h = self._pool(self.c2(F.relu(self.c1(h))))
        skip = x if self.c_sc is None else self.c_sc(x)  # jresgen: conv, then pool
        return self._pool(skip) + h


class ResNetDiscriminator(nn.Module):
    """down blocks -> ReLU -> global sum pooling -> SN linear -> logit."""

    def __init__(self, blocks, channels=3):
        super().__init__()
        layers, c = [], channels
        for i, (f, down) in enumerate(blocks):
            layers.append(DBlock(c, f, down, preactivate=i > 0, learnable_shortcut=down))
            c = f
        self.blocks = nn.ModuleList(layers)
        self.l_out = sn(nn.Linear(c, 1))

    def forward(self, x):
        h = x
        for block in self.blocks:
            h = block(h)
        return self.l_out(torch.sum(F.relu(h), dim=(2, 3))).view(x.shape[0])


class GAN(nn.Module):
    """The two networks together (one object for parameter counts and transfer);
    forward(z) = D(G(z)), the composition the benchmark's transfer check compares."""

    def __init__(self, generator, discriminator, z_dim):
        super().__init__()
        self.generator, self.discriminator, self.z_dim = generator, discriminator, z_dim

    def forward(self, z):
        return self.discriminator(self.generator(z))


def _blocks(value):
    return tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in value)


def from_config(model_cfg) -> GAN:
    """The GAN of a jresgen config's `model` section (unconditional, fixed-size latents)."""
    m = model_cfg
    if m.num_classes or m.get("spatial_latent", False):
        raise NotImplementedError("the PyTorch GAN reference covers unconditional, non-spatial "
                                  "GANs")
    if m.arch == "dcgan":
        return GAN(DCGANGenerator(m.resolution, m.channels, m.g_features, m.z_dim),
                   DCGANDiscriminator(m.resolution, m.channels, m.d_features), m.z_dim)
    if m.arch == "sngan":
        from jresgen.models.gan import sngan_discriminator_blocks, sngan_generator_blocks
        g_blocks = _blocks(m.g_blocks) or sngan_generator_blocks(m.resolution, m.g_features)
        d_blocks = _blocks(m.d_blocks) or sngan_discriminator_blocks(m.resolution, m.d_features)
        return GAN(ResNetGenerator(g_blocks, m.g_features, m.channels, m.z_dim),
                   ResNetDiscriminator(d_blocks, m.channels), m.z_dim)
    raise NotImplementedError(f"no PyTorch reference for GAN arch {m.arch!r}")


def discriminator_loss(kind, real, fake):
    """jresgen.tasks.gan_losses.discriminator_loss in torch (ns: BCE with logits; hinge)."""
    if kind == "ns":
        return (F.binary_cross_entropy_with_logits(real, torch.ones_like(real))
                + F.binary_cross_entropy_with_logits(fake, torch.zeros_like(fake)))
    if kind == "hinge":
        return F.relu(1.0 - real).mean() + F.relu(1.0 + fake).mean()
    raise NotImplementedError(f"no PyTorch mirror for GAN loss {kind!r}")


def generator_loss(kind, fake):
    if kind == "ns":
        return F.binary_cross_entropy_with_logits(fake, torch.ones_like(fake))
    if kind == "hinge":
        return -fake.mean()
    raise NotImplementedError(f"no PyTorch mirror for GAN loss {kind!r}")


class TrainStep:
    """One jresgen GAN step: for i < n_dis, a D update on real batch i and fakes from fresh z;
    then one G update. `step(real [B, n_dis, C, H, W] in [-1, 1], latents=None)` returns the
    mean D loss + G loss (jresgen's `loss` metric), or with `return_parts` the D losses and the
    G loss. `latents` (n_dis + 1 tensors [B, Z]) replaces the torch.randn draws, so a test can
    feed jresgen's z. `generator`/`discriminator` may be torch.compile'd versions of the
    model's networks (they share its parameters)."""

    def __init__(self, model, g_opt, d_opt, loss, separate, generator=None,
                 discriminator=None):
        self.model, self.g_opt, self.d_opt = model, g_opt, d_opt
        self.loss, self.separate = loss, separate
        # `is None`, not `or`: truth-testing a compiled module asks the wrapped one for len()
        self.g = model.generator if generator is None else generator
        self.d = model.discriminator if discriminator is None else discriminator

    def _set_d_grad(self, flag):
        for p in self.model.discriminator.parameters():
            p.requires_grad_(flag)

    def step(self, real, latents=None, return_parts=False):
        b, n_dis = real.shape[:2]

        def z(i):
            if latents is not None:
                return latents[i]
            return torch.randn(b, self.model.z_dim, device=real.device)
        d_losses = []
        for i in range(n_dis):
            with torch.no_grad():  # jresgen: G's forward in training mode, stop_gradient
                fake = self.g(z(i))
            self.d_opt.zero_grad(set_to_none=True)
            if self.separate:
                real_out, fake_out = self.d(real[:, i]), self.d(fake)
            else:
                out = self.d(torch.cat([real[:, i], fake]))
                real_out, fake_out = out[:b], out[b:]
            d_loss = discriminator_loss(self.loss, real_out, fake_out)
            d_loss.backward()
            self.d_opt.step()
            d_losses.append(d_loss.detach())
        self._set_d_grad(False)
        self.g_opt.zero_grad(set_to_none=True)
        g_loss = generator_loss(self.loss, self.d(self.g(z(n_dis))))
        g_loss.backward()
        self.g_opt.step()
        self._set_d_grad(True)
        if return_parts:
            return torch.stack(d_losses), g_loss.detach()
        return torch.stack(d_losses).mean() + g_loss.detach()
