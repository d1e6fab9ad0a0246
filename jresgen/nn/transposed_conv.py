"""DCGAN's up-sampling layer, PyTorch's `ConvTranspose2d(kernel_size=4, stride=2, padding=1)`,
computed as a 3x3 convolution to 4 * features channels followed by a pixel shuffle.

Why not `flax.linen.ConvTranspose`: XLA lowers the weight gradient of a strided transposed
convolution to a base-dilated convolution with a reversed kernel, which XLA:CPU runs on its
naive loop emitter. On the DCGAN generator's layers (batch 64) that gradient took ~1.8 s against
~0.2 s for this form, and the DCGAN train step spent 90 % of its time there. The two are the
same linear map (sub-pixel decomposition, Shi et al. 2016): each of the four output phases
(a, b) of the stride-2 transposed conv is a 2x2-tap convolution of the input, and all four fit
in one 3x3 window. The parameter is still flax's transposed-kernel layout
`kernel [4, 4, features, in_features]` (`K[ky, kx, o, i] = torch_weight[i, o, ky, kx]`), so
checkpoints and weight transfer from PyTorch are those of `nn.ConvTranspose(...,
transpose_kernel=True)`; the 3x3 kernel is rebuilt from it inside the step.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jresgen.nn.kernel_layer import KernelLayer
from jresgen.nn.pixel_shuffle import pixel_shuffle

# _TAP[d + 1, a]: the row of the 4x4 kernel that input offset d (-1, 0, 1) contributes to output
# phase a (0, 1), from out[2y + a] = sum_d x[y + d] * K[a + 1 - 2d]; 4 marks "no tap" (a zero row).
_TAP = np.array([[3, 4], [1, 2], [4, 0]])


def subpixel_kernel(kernel: jnp.ndarray) -> jnp.ndarray:
    """kernel [4, 4, out, in] (transposed layout) -> the equivalent 3x3 kernel
    [3, 3, in, out * 4], output channel o * 4 + a * 2 + b, the order `pixel_shuffle` reads."""
    kh, kw, out_f, in_f = kernel.shape
    if (kh, kw) != (4, 4):
        raise ValueError(f"expected a 4x4 kernel, got {kh}x{kw}")
    padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))  # index 4: zero taps
    rows = _TAP[:, None, :, None]  # [dy, 1, a, 1]
    cols = _TAP[None, :, None, :]  # [1, dx, 1, b]
    taps = padded[rows, cols]  # [3, 3, 2, 2, out, in]
    return taps.transpose(0, 1, 5, 4, 2, 3).reshape(3, 3, in_f, out_f * 4)


# Of the 3x3 kernel's 9 * 4 taps per (in, out) pair, the transposed conv's 16 are non-zero: the
# model's multiply-adds are this fraction of the ones executed (benchmarks/flops.py counts model
# FLOPs, as PyTorch counts its ConvTranspose2d).
NONZERO_TAP_FRACTION = (16, 36)


@jax.jit  # a named call in the jaxpr, so FLOP counters can find it (forward and gradients)
def conv_transpose_4x4_s2(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
    """PyTorch `conv_transpose2d(x, w, stride=2, padding=1)` with a 4x4 kernel in flax's
    transposed layout [4, 4, out, in]: [B, H, W, in] -> [B, 2H, 2W, out]."""
    y = jax.lax.conv_general_dilated(x, subpixel_kernel(kernel), (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return pixel_shuffle(y, 2)


class UpConv4x4(KernelLayer):
    """Drop-in for `nn.ConvTranspose(features, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)),
    transpose_kernel=True)`: same parameters, same outputs, a fast gradient on every backend."""
    use_bias: bool = False

    def kernel_shape(self, in_features):
        return (4, 4, self.features, in_features)

    def compute(self, x, kernel):
        return conv_transpose_4x4_s2(x, kernel)
