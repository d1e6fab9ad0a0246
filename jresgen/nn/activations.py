"""Activations chosen by name in configs."""
import flax.linen as nn
import jax

ACTIVATIONS = {
    "relu": nn.relu,
    "leaky_relu": lambda x: nn.leaky_relu(x, 0.2),
    "gelu": nn.gelu,
    "silu": nn.silu,
    "elu": nn.elu,
    "tanh": jax.numpy.tanh,
}


def get_activation(name: str):
    """The activation called `name`; "prelu" is a module and is built by `Activation`."""
    if name not in ACTIVATIONS:
        raise ValueError(f"unknown activation {name!r}; choose one of "
                         f"{', '.join([*ACTIVATIONS, 'prelu'])}")
    return ACTIVATIONS[name]


class Activation(nn.Module):
    """An activation by name; "prelu" (SRResNet) carries one learned slope."""
    name_: str = "relu"

    @nn.compact
    def __call__(self, x):
        if self.name_ == "prelu":
            return nn.PReLU(negative_slope_init=0.25)(x)
        return get_activation(self.name_)(x)
