"""GAN objectives on discriminator logits, each a pair (discriminator loss, generator loss),
batch means. `real` and `fake` are D's raw outputs [B] (logits, or critic values for WGAN).

  "ns":      the minimax game of Goodfellow et al. with the generator's non-saturating form:
             L_D = softplus(-D(x)) + softplus(D(G(z)))   (= binary cross-entropy on logits)
             L_G = softplus(-D(G(z)))                     (= -log sigmoid(D(G(z))))
  "hinge":   L_D = relu(1 - D(x)) + relu(1 + D(G(z))),  L_G = -D(G(z))   (SNGAN, BigGAN)
  "wgan_gp": L_D = D(G(z)) - D(x) + gp_weight * (|grad D(x_hat)| - 1)^2 (Gulrajani et al.),
             L_G = -D(G(z)); x_hat on the line between x and G(z) (gradient_penalty below).
"""
import jax
import jax.numpy as jnp

LOSSES = ("ns", "hinge", "wgan_gp")


def discriminator_loss(kind: str, real, fake):
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-real)) + jnp.mean(jax.nn.softplus(fake))
    if kind == "hinge":
        return jnp.mean(jax.nn.relu(1.0 - real)) + jnp.mean(jax.nn.relu(1.0 + fake))
    if kind == "wgan_gp":
        return jnp.mean(fake) - jnp.mean(real)
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def generator_loss(kind: str, fake):
    if kind == "ns":
        return jnp.mean(jax.nn.softplus(-fake))
    if kind in ("hinge", "wgan_gp"):
        return -jnp.mean(fake)
    raise ValueError(f"unknown GAN loss {kind!r}; choose one of {', '.join(LOSSES)}")


def gradient_penalty(critic, real, fake, t):
    """mean over the batch of (|grad_x critic(x)| - 1)^2 at x = t * real + (1 - t) * fake,
    `t` [B] uniform in [0, 1]; `critic(x) -> [B]` scores each sample independently."""
    x_hat = t[:, None, None, None] * real + (1.0 - t[:, None, None, None]) * fake
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(x_hat)
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=-1) + 1e-12)
    return jnp.mean((norms - 1.0) ** 2)
