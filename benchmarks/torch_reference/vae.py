"""jresgen's residual VAE (jresgen.models.vae) in PyTorch: pre-activation down blocks with
average pooling, up blocks with nearest upsampling, a diagonal-Gaussian posterior and a
categorical likelihood over the data's intensity levels.

Like the classifier's LeNet, the dense layers next to a flatten/reshape see Flax's NHWC
order; transfer.load_vae permutes their weights, the model itself is plain PyTorch.
"""
import torch
import torch.nn.functional as F
from torch import nn

ACTIVATIONS = {"silu": F.silu, "relu": F.relu, "gelu": F.gelu,
               "leaky_relu": lambda x: F.leaky_relu(x, 0.2), "elu": F.elu, "tanh": torch.tanh}


class DownBlock(nn.Module):
    """act-conv3x3-act-conv3x3-avgpool, plus [1x1 conv]-avgpool on the shortcut."""

    def __init__(self, cin, cout, act):
        super().__init__()
        self.act = act
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        y = F.avg_pool2d(self.conv2(self.act(self.conv1(self.act(x)))), 2)
        skip = x if self.shortcut is None else self.shortcut(x)
        return F.avg_pool2d(skip, 2) + y


class UpBlock(nn.Module):
    """act-upsample-conv3x3-act-conv3x3, plus upsample-[1x1 conv] on the shortcut."""

    def __init__(self, cin, cout, act):
        super().__init__()
        self.act = act
        self.conv1 = nn.Conv2d(cin, cout, 3, padding=1)
        self.conv2 = nn.Conv2d(cout, cout, 3, padding=1)
        self.shortcut = nn.Conv2d(cin, cout, 1) if cin != cout else None

    def forward(self, x):
        up = F.interpolate(self.act(x), scale_factor=2, mode="nearest")
        y = self.conv2(self.act(self.conv1(up)))
        skip = F.interpolate(x, scale_factor=2, mode="nearest")
        return (skip if self.shortcut is None else self.shortcut(skip)) + y


class VAE(nn.Module):
    """forward(x [B, C, S, S] in [0, 1], eps=None) -> (logits [B, C, levels, S, S], mean, logvar);
    eps ~ N(0, I) is drawn here unless given."""

    def __init__(self, image_size=16, channels=1, levels=17, latent_dim=16, features=(32, 64),
                 activation="silu"):
        super().__init__()
        act = ACTIVATIONS[activation]
        self.act, self.channels, self.levels = act, channels, levels
        self.bottom = image_size // 2 ** len(features)
        self.stem = nn.Conv2d(channels, features[0], 3, padding=1)
        widths = [features[0], *features]
        self.down = nn.ModuleList(DownBlock(a, b, act) for a, b in zip(widths, widths[1:]))
        flat = features[-1] * self.bottom ** 2
        self.posterior = nn.Linear(flat, 2 * latent_dim)
        self.project = nn.Linear(latent_dim, flat)
        rev = list(reversed(features))
        widths = [rev[0], *rev]
        self.up = nn.ModuleList(UpBlock(a, b, act) for a, b in zip(widths, widths[1:]))
        self.logits = nn.Conv2d(rev[-1], channels * levels, 3, padding=1)
        self.top = rev[0]

    def encode(self, x):
        h = self.stem(2 * x - 1)
        for block in self.down:
            h = block(h)
        return self.posterior(torch.flatten(self.act(h), 1)).chunk(2, dim=1)

    def decode(self, z):
        h = self.project(z).view(z.shape[0], self.top, self.bottom, self.bottom)
        for block in self.up:
            h = block(h)
        logits = self.logits(self.act(h))
        return logits.view(z.shape[0], self.channels, self.levels, *logits.shape[-2:])

    def forward(self, x, eps=None):
        mean, logvar = self.encode(x)
        if eps is None:
            eps = torch.randn_like(mean)
        return self.decode(mean + torch.exp(0.5 * logvar) * eps), mean, logvar


class NegativeELBO(nn.Module):
    """mean over the batch of -log p(x|z) (categorical, nats) + beta * KL(q(z|x) || N(0, I))."""

    def __init__(self, beta=1.0):
        super().__init__()
        self.beta = beta

    def forward(self, output, levels):
        logits, mean, logvar = output
        # cross_entropy wants the classes (levels) in dimension 1: [B, levels, C, S, S]
        recon = F.cross_entropy(logits.transpose(1, 2), levels,
                                reduction="none").flatten(1).sum(1)
        kl = 0.5 * (mean ** 2 + logvar.exp() - 1 - logvar).sum(1)
        return (recon + self.beta * kl).mean()


def from_config(model_cfg) -> VAE:
    if model_cfg.norm != "none":
        raise NotImplementedError("the PyTorch VAE reference covers norm='none'")
    return VAE(model_cfg.image_size, model_cfg.channels, model_cfg.levels, model_cfg.latent_dim,
               tuple(model_cfg.features), model_cfg.activation)
