"""The 3x3 stride-1 convolution with 'SAME' (zero), 'REFLECT' or 'CIRCULAR' padding, as flax's
`nn.Conv` pads, whose weight gradient runs by
Winograd's F(3x3, 4x4) (winograd.py) on the CPU where XLA's own is slow: few images per device.

XLA:CPU computes a weight gradient as a convolution that contracts over the images of the
batch in its innermost loop; with four or fewer images per device that loop is too short to
run at speed, while the Winograd form does the same work per pixel whatever the batch. Weight
gradient, ms, XLA (Eigen, jresgen's tuned flag) vs Winograd, two threads, batch x side x
channels in -> out (notes of 2026-11-27):
  4x24x64: 0.81 vs 0.54     1x24x64: 0.59 vs 0.20    2x24x64: 0.73 vs 0.34
  4x48x64: 2.97 vs 2.05     4x64x64: 5.47 vs 3.94    4x12x64: 0.38 vs 0.25
  4x8x64:  0.27 vs 0.19     4x16x256: 3.29 vs 1.38   4x32x256: 13.2 vs 5.96
but 8x24x64: 1.10 vs 1.20, 16x24x64: 1.98 vs 1.99, 16x48x64: 9.49 vs 11.3, 128x32x16: 6.05 vs
11.1, an RGB input (4x48x3 -> 64): 0.36 vs 0.72, and where the transformed tiles outgrow the
caches, 4x128x32: 8.9 vs 25.9 (36 x 4096 tiles x 64 channels: 38 MB; 4x64x64's 19 MB still
gained, 5.4 vs 3.5). So: float32, at most WINOGRAD_MAX_BATCH images per device, at least
WINOGRAD_MIN_CHANNELS channels on both sides, sides multiples of 4, transformed tiles of at
most WINOGRAD_MAX_TILE_BYTES; elsewhere, and on other platforms (lax.platform_dependent
picks at lowering), XLA's own. `python -m benchmarks.weight_grad` times both per shape.
The forward pass and the input gradient stay XLA's (Winograd measured no faster there).
"""
import jax
import jax.numpy as jnp

from jresgen.nn.conv_vjp import kernel_transpose, with_gradients
from jresgen.nn.kernel_layer import KernelLayer
from jresgen.nn.winograd import SPAN, TILE, weight_grad_3x3, weight_grad_3x3_padded

_DIMS = ("NHWC", "HWIO", "NHWC")
WINOGRAD_MAX_BATCH = 4
WINOGRAD_MIN_CHANNELS = 16
WINOGRAD_MAX_TILE_BYTES = 24 * 2 ** 20  # both transformed tile sets, float32


# flax's padding names -> jnp.pad's modes; 'SAME' pads with zeros inside the convolution
PADDINGS = {"SAME": None, "REFLECT": "reflect", "CIRCULAR": "wrap"}


def _conv(x, kernel, padding="SAME"):
    return jax.lax.conv_general_dilated(x, kernel, (1, 1), padding, dimension_numbers=_DIMS)


def winograd_applies(x_shape, g_shape, dtype) -> bool:
    """Whether the weight gradient of these shapes goes by Winograd on the CPU."""
    n, h, w, c_in = x_shape
    c_out = g_shape[-1]
    tile_bytes = SPAN * SPAN * n * (h // TILE) * (w // TILE) * (c_in + c_out) * 4
    return (jnp.dtype(dtype) == jnp.float32 and n <= WINOGRAD_MAX_BATCH
            and h % TILE == 0 and w % TILE == 0
            and min(c_in, c_out) >= WINOGRAD_MIN_CHANNELS
            and tile_bytes <= WINOGRAD_MAX_TILE_BYTES)


def _plain_weight_grad(x, kernel, g, padding="SAME"):
    return kernel_transpose(lambda x, k: _conv(x, k, padding), x, kernel, g)


def _custom_conv(padding):
    """The convolution with this lax padding ('SAME', or 'VALID' of a padded input) and its
    weight gradient by Winograd on the CPU where it measured faster, else XLA's; x is the
    convolution's own input."""
    def weight_grad(x, kernel, g):
        if not winograd_applies(g.shape[:3] + x.shape[3:], g.shape, x.dtype):
            return _plain_weight_grad(x, kernel, g, padding)
        winograd = weight_grad_3x3 if padding == "SAME" else weight_grad_3x3_padded
        return jax.lax.platform_dependent(
            x, g, cpu=winograd, default=lambda x, g: _plain_weight_grad(x, kernel, g, padding))

    return with_gradients(lambda x, k: _conv(x, k, padding), kernel_grad=weight_grad)


_conv3x3_same, _conv3x3_valid = _custom_conv("SAME"), _custom_conv("VALID")


def conv3x3(x, kernel, padding="SAME"):
    """A 3x3 convolution, stride 1, NHWC / HWIO: [B, H, W, in] -> [B, H, W, out], padded by
    one pixel as `nn.Conv(out, (3, 3), padding=padding)` pads ('SAME': zeros, 'REFLECT',
    'CIRCULAR'), with the same outputs and gradients."""
    if kernel.shape[:2] != (3, 3):
        raise ValueError(f"conv3x3 needs a 3x3 kernel, got {kernel.shape}")
    if padding not in PADDINGS:
        raise ValueError(f"conv3x3 padding must be one of {', '.join(PADDINGS)}, got "
                         f"{padding!r}")
    if padding == "SAME":
        return _conv3x3_same(x, kernel)
    return _conv3x3_valid(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)), mode=PADDINGS[padding]),
                          kernel)


class Conv3x3(KernelLayer):
    """Drop-in for `nn.Conv(features, (3, 3), padding=padding)` (stride 1; padding 'SAME',
    'REFLECT' or 'CIRCULAR'): same parameters (`kernel [3, 3, in, features]`, `bias`), same
    outputs and gradients."""
    padding: str = "SAME"

    def kernel_shape(self, in_features):
        return (3, 3, in_features, self.features)

    def compute(self, x, kernel):
        return conv3x3(x, kernel, self.padding)
