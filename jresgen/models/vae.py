"""A convolutional VAE with residual encoder and decoder (Kingma & Welling 2014).

    encoder: x [B, S, S, C] in [0, 1] -> conv3x3 -> ResidualDownBlocks (each halves S)
             -> act -> dense -> (mean, log-variance) of q(z|x), z [B, latent_dim]
    decoder: z -> dense -> [B, S/2^n, S/2^n, F] -> ResidualUpBlocks (each doubles S)
             -> [norm-]act -> conv3x3 -> logits [B, S, S, C, levels]

Likelihood p(x|z): an independent categorical over the `levels` intensity levels of every
pixel and channel (PixelCNN's softmax; 17 levels for sklearn's digits, 256 for 8-bit images).
It is a proper distribution over the discrete data, so -log p(x) is in nats and bits per
dimension mean what they mean in the literature; it makes no assumption of smoothness
between neighbouring levels. q(z|x) is a diagonal Gaussian sampled with the
reparameterisation trick, z = mean + exp(logvar / 2) * eps.

The prior p(z), `prior=`:
  "standard": N(0, I); the KL term is KL(q(z|x) || p(z)) in closed form.
  "mixture":  a learned mixture of `prior_components` diagonal Gaussians (means, log-variances
              and weights are parameters trained with the rest by the ELBO, whose optimal prior
              is the aggregate posterior). The KL term is the one-sample Monte Carlo estimate
              log q(z|x) - log p(z) at the z the decoder sees: unbiased, so the negative ELBO is
              still an upper bound on -log p(x) in expectation. Samples drawn from it land where
              the encoder puts real images, where N(0, I) samples decode to stroke fragments.
"""
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from jresgen.nn import Activation, ResidualDownBlock, ResidualUpBlock, apply_norm, make_norm


class Encoder(nn.Module):
    latent_dim: int
    features: Sequence[int]
    norm: str = "none"
    activation: str = "silu"
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, x, train: bool = False):
        x = nn.Conv(self.features[0], (3, 3), dtype=self.dtype, name="stem")(2.0 * x - 1.0)
        for i, f in enumerate(self.features):
            x = ResidualDownBlock(f, norm=self.norm, activation=self.activation,
                                  axis_name=self.axis_name, dtype=self.dtype,
                                  name=f"down{i + 1}")(x, train)
        x = Activation(self.activation, name="act")(x).reshape(x.shape[0], -1)
        stats = nn.Dense(2 * self.latent_dim, name="posterior")(x.astype(jnp.float32))
        mean, logvar = jnp.split(stats, 2, axis=-1)
        return mean, logvar


class Decoder(nn.Module):
    image_size: int
    channels: int
    levels: int
    features: Sequence[int]  # from the bottom (lowest resolution) up
    norm: str = "none"
    activation: str = "silu"
    axis_name: str | None = None
    dtype: Any = jnp.float32

    @nn.compact
    def __call__(self, z, train: bool = False):
        bottom = self.image_size // 2 ** len(self.features)
        x = nn.Dense(bottom * bottom * self.features[0], dtype=self.dtype, name="project")(z)
        x = x.reshape(z.shape[0], bottom, bottom, self.features[0])
        for i, f in enumerate(self.features):
            x = ResidualUpBlock(f, norm=self.norm, activation=self.activation,
                                axis_name=self.axis_name, dtype=self.dtype,
                                name=f"up{i + 1}")(x, train)
        norm = make_norm(self.norm, train=train, axis_name=self.axis_name, dtype=self.dtype)
        x = Activation(self.activation, name="act")(apply_norm(norm, x, "norm"))
        logits = nn.Conv(self.channels * self.levels, (3, 3), dtype=self.dtype,
                         name="logits")(x).astype(jnp.float32)
        return logits.reshape(*x.shape[:3], self.channels, self.levels)


def diagonal_gaussian_log_prob(z, mean, logvar):
    """log N(z; mean, diag(exp(logvar))) summed over the last axis."""
    return -0.5 * jnp.sum(jnp.log(2 * jnp.pi) + logvar + (z - mean) ** 2 * jnp.exp(-logvar),
                          axis=-1)


class MixturePrior(nn.Module):
    """p(z) = sum_k w_k N(z; mu_k, diag(exp(logvar_k))), w = softmax(weight_logits)."""
    latent_dim: int
    components: int
    # The parameters are stored divided by `param_scale`, so Adam moves the prior that many
    # times faster than the networks' weights: with the same step size the prior lags far
    # behind the aggregate posterior it should follow (measured: README "Generative evaluation").
    param_scale: float = 1.0

    def setup(self):
        s = self.param_scale
        # Means spread like N(0, I) samples, so the components start apart; unit variances.
        self.means = s * self.param("means", nn.initializers.normal(1.0 / s),
                                    (self.components, self.latent_dim))
        self.logvars = s * self.param("logvars", nn.initializers.zeros,
                                      (self.components, self.latent_dim))
        self.weight_logits = s * self.param("weight_logits", nn.initializers.zeros,
                                            (self.components,))

    def log_prob(self, z):
        """z [B, D] -> log p(z) [B]."""
        per_component = diagonal_gaussian_log_prob(z[:, None], self.means, self.logvars)
        return jax.nn.logsumexp(per_component + jax.nn.log_softmax(self.weight_logits), axis=-1)

    def sample(self, eps, u):
        """z [B, D] from eps [B, D] ~ N(0, I) and u [B] ~ U(0, 1) (picks the component)."""
        cumulative = jnp.cumsum(jax.nn.softmax(self.weight_logits))
        k = jnp.minimum(jnp.searchsorted(cumulative, u), self.components - 1)
        return self.means[k] + jnp.exp(0.5 * self.logvars[k]) * eps


class VAE(nn.Module):
    image_size: int
    channels: int = 1
    levels: int = 17
    latent_dim: int = 16
    features: Sequence[int] = (32, 64)  # encoder widths, top down; the decoder mirrors them
    norm: str = "none"
    activation: str = "silu"
    axis_name: str | None = None
    prior: str = "standard"  # or "mixture"
    prior_components: int = 10
    prior_param_scale: float = 1.0
    dtype: Any = jnp.float32

    def setup(self):
        if self.prior not in ("standard", "mixture"):
            raise ValueError(f"prior must be 'standard' or 'mixture', got {self.prior!r}")
        if self.image_size % 2 ** len(self.features):
            raise ValueError(f"image_size {self.image_size} must be divisible by "
                             f"2^{len(self.features)} (one halving per encoder stage)")
        common = dict(norm=self.norm, activation=self.activation, axis_name=self.axis_name,
                      dtype=self.dtype)
        self.encoder = Encoder(self.latent_dim, tuple(self.features), **common)
        self.decoder = Decoder(self.image_size, self.channels, self.levels,
                               tuple(reversed(self.features)), **common)
        if self.prior == "mixture":
            self.mixture = MixturePrior(self.latent_dim, self.prior_components,
                                        self.prior_param_scale)

    def encode(self, x, train: bool = False):
        """x [B, S, S, C] in [0, 1] -> (mean, logvar), each [B, latent_dim]."""
        return self.encoder(x, train)

    def decode(self, z, train: bool = False):
        """z [B, latent_dim] -> logits [B, S, S, C, levels] of p(x|z)."""
        return self.decoder(z, train)

    def kl(self, z, mean, logvar):
        """The KL term per sample [B] for z drawn from q(z|x) = N(mean, exp(logvar)): closed
        form against N(0, I), else log q(z|x) - log p(z)."""
        if self.prior == "standard":
            return gaussian_kl(mean, logvar)
        return diagonal_gaussian_log_prob(z, mean, logvar) - self.mixture.log_prob(z)

    def sample_prior(self, eps, u):
        """z [B, latent_dim] ~ p(z) from eps [B, latent_dim] ~ N(0, I), u [B] ~ U(0, 1)."""
        return eps if self.prior == "standard" else self.mixture.sample(eps, u)

    def __call__(self, x, eps, train: bool = False):
        """(logits of p(x|z), mean, logvar, KL term [B]) with z = mean + sigma * eps,
        eps [B, latent_dim]."""
        mean, logvar = self.encode(x, train)
        z = mean + jnp.exp(0.5 * logvar) * eps
        return self.decode(z, train), mean, logvar, self.kl(z, mean, logvar)


def gaussian_kl(mean, logvar):
    """KL(N(mean, exp(logvar)) || N(0, I)) per sample, summed over the latent axis: [B]."""
    return 0.5 * jnp.sum(mean ** 2 + jnp.exp(logvar) - 1.0 - logvar, axis=-1)


def categorical_nll(logits, levels):
    """-log p(x|z) per sample in nats: logits [B, H, W, C, L], integer levels [B, H, W, C]."""
    logp = jax.nn.log_softmax(logits, axis=-1)
    picked = jnp.take_along_axis(logp, levels[..., None], axis=-1)[..., 0]
    return -jnp.sum(picked, axis=tuple(range(1, picked.ndim)))


def categorical_mean(logits):
    """E[level] / (L - 1) per pixel, in [0, 1]: the image the decoder expects, for display."""
    levels = logits.shape[-1]
    probs = jax.nn.softmax(logits, axis=-1)
    return jnp.sum(probs * jnp.arange(levels), axis=-1) / (levels - 1)


def build(cfg, axis_name=None) -> VAE:
    return VAE(image_size=cfg.image_size, channels=cfg.channels, levels=cfg.levels,
               latent_dim=cfg.latent_dim, features=tuple(cfg.features), norm=cfg.norm,
               activation=cfg.activation, prior=cfg.get("prior", "standard"),
               prior_components=cfg.get("prior_components", 10),
               prior_param_scale=cfg.get("prior_param_scale", 1.0), axis_name=axis_name,
               dtype=jnp.dtype(cfg.get("dtype", "float32")))
