"""A 3x3 convolution next to a x2 resampling, computed at the low resolution: the residual
up block's `conv(upsample_nearest(x))` and the down block's `avg_pool(conv(x))`.

Upsampling then convolving. Why: XLA materialises the upsampled tensor (a broadcast) and, for
the weight gradient, a transposed copy of it, four times the input's size each; on the VAE
decoder's blocks those copies took about a quarter of the CPU train step. The same linear map
without them (sub-pixel decomposition, as in transposed_conv.py): output pixel (2y + a, 2x + b)
reads the upsampled image at rows 2y + a + dy, dy in {-1, 0, 1}, which are input rows y +
floor((a + dy) / 2), so each of the four output phases (a, b) is a 3x3 convolution of the input
with taps of the original kernel summed, and all four fit in one 3x3 convolution to 4 * features
channels followed by a pixel shuffle. Zero padding by one at the upsampled border is zero
padding by one at the input's border, so borders agree too. It executes as many multiply-adds as
the original (9 * 4 per input pixel = 9 per output pixel); the parameter is the original's
`kernel [3, 3, in, out]`, so checkpoints and weight transfer are unchanged.

Convolving then average-pooling 2x2. The pooled output (y, x) averages the conv at rows
2y + a, a in {0, 1}, which read input rows 2y + a + ky - 1: a stride-2 convolution with a 4x4
kernel, each tap the average of the (up to four) 3x3 taps that land on it, padded by one on
each side. It computes the pooled pixels only: 16 multiply-adds per (in, out) pair and output
pixel against the original's 4 * 9, and no full-resolution intermediate.
"""
import jax
import jax.numpy as jnp

from jresgen.nn.kernel_layer import KernelLayer
from jresgen.nn.pixel_shuffle import pixel_shuffle
from jresgen.nn.strided_conv import conv4x4_s2


def _fold_phases(kernel: jnp.ndarray, axis: int) -> tuple[jnp.ndarray, jnp.ndarray]:
    """The kernel's 3 taps along `axis` regrouped by the input offset d (-1, 0, 1) they read
    after x2 upsampling, d = floor((a + k - 1) / 2), for output phases a = 0 and a = 1."""
    k0, k1, k2 = (jnp.take(kernel, i, axis=axis) for i in range(3))
    zero = jnp.zeros_like(k0)
    return (jnp.stack([k0, k1 + k2, zero], axis=axis),
            jnp.stack([zero, k0 + k1, k2], axis=axis))


def upsampled_kernel(kernel: jnp.ndarray) -> jnp.ndarray:
    """kernel [3, 3, in, out] applied after x2 nearest upsampling -> the equivalent kernel
    [3, 3, in, out * 4] at the input's resolution, output channel o * 4 + a * 2 + b (the order
    `pixel_shuffle` reads). Sums and stacks only: no multiply for FLOP counters to see."""
    kh, kw, in_f, out_f = kernel.shape
    if (kh, kw) != (3, 3):
        raise ValueError(f"expected a 3x3 kernel, got {kh}x{kw}")
    phases = [jnp.stack(_fold_phases(rows, axis=1), axis=-1)  # [3, 3, in, out, b]
              for rows in _fold_phases(kernel, axis=0)]
    return jnp.stack(phases, axis=-2).reshape(3, 3, in_f, out_f * 4)  # [..., out, a, b]


def upsample_conv3x3(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
    """conv3x3(upsample_nearest(x, 2), kernel) with SAME zero padding: [B, H, W, in] ->
    [B, 2H, 2W, out]."""
    y = jax.lax.conv_general_dilated(x, upsampled_kernel(kernel), (1, 1), ((1, 1), (1, 1)),
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return pixel_shuffle(y, 2)


class UpsampleConv3x3(KernelLayer):
    """Drop-in for `nn.Conv(features, (3, 3))` applied to `upsample_nearest(x, 2)`: same
    parameters (`kernel [3, 3, in, features]`, `bias`), same outputs, without the upsampled
    intermediate."""

    def kernel_shape(self, in_features):
        return (3, 3, in_features, self.features)

    def compute(self, x, kernel):
        return upsample_conv3x3(x, kernel)


def pooled_kernel(kernel: jnp.ndarray) -> jnp.ndarray:
    """kernel [3, 3, in, out] followed by 2x2 average pooling -> the equivalent stride-2 kernel
    [4, 4, in, out]: tap (t, s) averages the 3x3 taps (t - a, s - b), a, b in {0, 1}."""
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"expected a 3x3 kernel, got {kernel.shape[0]}x{kernel.shape[1]}")
    p = jnp.pad(kernel, ((1, 1), (1, 1), (0, 0), (0, 0)))
    return 0.25 * (p[1:, 1:] + p[:-1, 1:] + p[1:, :-1] + p[:-1, :-1])


# The pooled convolution executes 16 multiply-adds per (in, out) pair and output pixel where
# the model (conv at full resolution, then pooling; PyTorch's count) has 4 * 9: the fraction
# benchmarks/flops.py scales its count by to report model FLOPs.
POOLED_MODEL_FRACTION = (36, 16)


@jax.jit  # a named call in the jaxpr, so FLOP counters can find it (forward and gradients)
def conv3x3_avg_pool(x: jnp.ndarray, kernel: jnp.ndarray) -> jnp.ndarray:
    """avg_pool(conv3x3(x, kernel), 2) with SAME zero padding: [B, H, W, in] ->
    [B, H/2, W/2, out] (H, W even)."""
    if x.shape[1] % 2 or x.shape[2] % 2:
        raise ValueError(f"conv3x3_avg_pool needs an even height and width, got {x.shape[1:3]}")
    return conv4x4_s2(x, pooled_kernel(kernel))


class Conv3x3AvgPool(KernelLayer):
    """Drop-in for `nn.Conv(features, (3, 3))` followed by 2x2 average pooling: same
    parameters, same outputs, the pooled pixels computed directly."""

    def kernel_shape(self, in_features):
        return (3, 3, in_features, self.features)

    def compute(self, x, kernel):
        return conv3x3_avg_pool(x, kernel)
