"""The 4x4 stride-2 convolution with padding 1 (DCGAN's discriminator, and the pooled 3x3
convolution of resample_conv.py), with its input gradient computed without base dilation.

The input gradient of a stride-2 convolution is a convolution of the output gradient dilated
by 2 (zeros between its pixels). XLA:CPU runs such base-dilated convolutions on a slow path:
in DCGAN-CIFAR's step they took a fifth of the time (27 ms each at batch 128, 16x16, 128 -> 64
channels, one thread). The same linear map by space-to-depth: pad by one, fold each 2x2 block
of pixels into the channels, and a 4x4 stride-2 convolution becomes a 2x2 stride-1 convolution
with 4x the input channels (kernel tap (2p + a, 2q + b) -> tap (p, q), channel (a, b, c)). Its
input gradient is a plain stride-1 convolution and a depth-to-space copy. The forward and the
weight gradient stay faster in the strided form (at that shape 10.4 vs 11.7 and 13.8 vs 16.1
ms), so only the input gradient changes form, and only where it measured faster (input
gradient, ms, one thread, batch x size x in -> out):
128x16x16x64->128 25.5 -> 12.4, 64x32x32x64->128 57.6 -> 36.7,
64x16x16x128->256 35.3 -> 25.2, 128x32x32x32->64 43.0 -> 11.6, 16x64x64x64->128 58.0 -> 34.2;
but 128x8x8x128->256 11.0 -> 14.4, and an RGB first layer (128x32x32x3->64) 1.75 -> 3.03. So
inputs under 16x16 or with fewer than 16 channels keep the plain gradient.
"""
import jax
import jax.numpy as jnp

from jresgen.nn.conv_vjp import input_transpose, with_gradients
from jresgen.nn.kernel_layer import KernelLayer

_DIMS = ("NHWC", "HWIO", "NHWC")
MIN_FOLDED_CHANNELS = 16
MIN_FOLDED_SIZE = 16


def _strided(x, kernel):
    return jax.lax.conv_general_dilated(x, kernel, (2, 2), ((1, 1), (1, 1)),
                                        dimension_numbers=_DIMS)


def _folded(x, kernel):
    """The same convolution as `_strided` by space-to-depth and a 2x2 stride-1 convolution."""
    b, h, w, c = x.shape
    xp = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    xs = xp.reshape(b, h // 2 + 1, 2, w // 2 + 1, 2, c).transpose(0, 1, 3, 2, 4, 5)
    xs = xs.reshape(b, h // 2 + 1, w // 2 + 1, 4 * c)
    k2 = kernel.reshape(2, 2, 2, 2, c, -1).transpose(0, 2, 1, 3, 4, 5).reshape(2, 2, 4 * c, -1)
    return jax.lax.conv_general_dilated(xs, k2, (1, 1), "VALID", dimension_numbers=_DIMS)


def _input_grad(x, kernel, g):
    folds = x.shape[-1] >= MIN_FOLDED_CHANNELS and min(x.shape[1:3]) >= MIN_FOLDED_SIZE
    return input_transpose(_folded if folds else _strided, x, kernel, g)


# the weight gradient stays the strided form's transpose
_conv4x4_s2 = with_gradients(_strided, input_grad=_input_grad)


def conv4x4_s2(x, kernel):
    """A 4x4 convolution, stride 2, zero padding 1, NHWC / HWIO: [B, H, W, in] -> [B, H/2,
    W/2, out] for even H, W (as `nn.Conv(out, (4, 4), strides=2, padding=1)`)."""
    if x.shape[1] % 2 or x.shape[2] % 2 or kernel.shape[:2] != (4, 4):
        raise ValueError(f"conv4x4_s2 needs an even height and width and a 4x4 kernel, got "
                         f"input {x.shape} and kernel {kernel.shape}")
    return _conv4x4_s2(x, kernel)


class Conv4x4S2(KernelLayer):
    """Drop-in for `nn.Conv(features, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)))`: same
    parameters (`kernel [4, 4, in, features]`, `bias`), same outputs and gradients."""

    def kernel_shape(self, in_features):
        return (4, 4, in_features, self.features)

    def compute(self, x, kernel):
        return conv4x4_s2(x, kernel)
