"""A layer with flax `nn.Conv`'s parameters (`kernel`, optional `bias`) and dtype handling
whose output is a custom function of the input and the kernel: the resampling convolutions
that compute a standard layer another way (transposed_conv.py, resample_conv.py)."""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp


class KernelLayer(nn.Module):
    """Subclasses give `kernel_shape(in_features)` and `compute(x, kernel)`; the bias, if any,
    is added after `compute`."""
    features: int
    use_bias: bool = True
    kernel_init: Any = nn.initializers.lecun_normal()
    bias_init: Any = nn.initializers.zeros
    dtype: Any = None
    param_dtype: Any = jnp.float32

    def kernel_shape(self, in_features: int) -> tuple[int, ...]:
        raise NotImplementedError

    def compute(self, x, kernel):
        raise NotImplementedError

    @nn.compact
    def __call__(self, x):
        kernel = self.param("kernel", self.kernel_init, self.kernel_shape(x.shape[-1]),
                            self.param_dtype)
        bias = (self.param("bias", self.bias_init, (self.features,), self.param_dtype)
                if self.use_bias else None)
        x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)
        y = self.compute(x, kernel)
        return y if bias is None else y + bias
