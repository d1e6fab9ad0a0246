"""Normalisation layers chosen by name, so configs can say `norm = "batch"`."""
from typing import Any, Callable

import flax.linen as nn

NORMS = ("none", "batch", "instance", "group", "layer")


def make_norm(kind: str, *, train: bool = False, axis_name: str | None = None,
              groups: int = 32, zero_scale: bool = False, dtype=None) -> Callable[..., nn.Module] | None:
    """Returns a constructor `norm(name=...)` for the norm `kind`, or None for "none".

    `train` selects batch statistics over running averages for BatchNorm; `axis_name`
    (set under `jax.pmap`) averages those statistics over the devices, so N devices compute
    the statistics of the whole global batch as one device would. `zero_scale` starts the
    scale at zero (the last norm of a residual branch, so a fresh block is the identity).
    """
    scale_init = nn.initializers.zeros if zero_scale else nn.initializers.ones
    # Norms compute their statistics in float32 whatever `dtype` (flax promotes internally).
    if kind == "none":
        return None
    if kind == "batch":
        # a caller's scale_init (DCGAN's N(1, 0.02)) replaces the default
        return lambda **kw: nn.BatchNorm(use_running_average=not train, momentum=0.9,
                                         epsilon=1e-5, axis_name=axis_name, dtype=dtype,
                                         **{"scale_init": scale_init, **kw})
    if kind == "instance":
        return lambda **kw: nn.InstanceNorm(epsilon=1e-5, scale_init=scale_init, dtype=dtype,
                                            **kw)
    if kind == "group":
        return lambda **kw: _GroupNorm(groups=groups, scale_init=scale_init, dtype=dtype, **kw)
    if kind == "layer":
        return lambda **kw: nn.LayerNorm(epsilon=1e-5, scale_init=scale_init, dtype=dtype, **kw)
    raise ValueError(f"unknown norm {kind!r}; choose one of {', '.join(NORMS)}")


class _GroupNorm(nn.Module):
    """GroupNorm whose group count shrinks to divide the channel count (e.g. 32 -> 16 for 48)."""
    groups: int = 32
    scale_init: Callable = nn.initializers.ones
    dtype: Any = None

    @nn.compact
    def __call__(self, x):
        channels = x.shape[-1]
        groups = min(self.groups, channels)
        while channels % groups:
            groups -= 1
        return nn.GroupNorm(num_groups=groups, epsilon=1e-5, scale_init=self.scale_init,
                            dtype=self.dtype)(x)


def apply_norm(norm, x, name: str):
    """`norm(x)` when a norm is configured, `x` otherwise."""
    return x if norm is None else norm(name=name)(x)


class ConditionalBatchNorm(nn.Module):
    """BatchNorm whose scale and shift depend on the class (de Vries et al. 2017; the SNGAN
    projection-cGAN generator): normalise without affine parameters, then
    y = (1 + gamma[label]) * x_hat + beta[label], gamma and beta embeddings starting at zero,
    so a fresh layer is a plain BatchNorm. x [B, H, W, C], labels int [B]."""
    num_classes: int
    use_running_average: bool = False
    momentum: float = 0.9
    epsilon: float = 1e-5
    axis_name: str | None = None
    dtype: Any = None

    @nn.compact
    def __call__(self, x, labels):
        x = nn.BatchNorm(use_running_average=self.use_running_average, momentum=self.momentum,
                         epsilon=self.epsilon, use_scale=False, use_bias=False,
                         axis_name=self.axis_name, dtype=self.dtype, name="norm")(x)
        channels = x.shape[-1]
        gamma = nn.Embed(self.num_classes, channels, embedding_init=nn.initializers.zeros,
                         name="gamma")(labels)
        beta = nn.Embed(self.num_classes, channels, embedding_init=nn.initializers.zeros,
                        name="beta")(labels)
        return x * (1 + gamma[:, None, None, :]).astype(x.dtype) + \
            beta[:, None, None, :].astype(x.dtype)
