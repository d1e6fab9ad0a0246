"""The weight gradient of a 3x3 stride-1 zero-padded ('SAME') convolution by Winograd's minimal
filtering F(3x3, 4x4) (Lavin & Gray, "Fast algorithms for convolutional neural networks",
CVPR 2016): 36 products per 4x4 tile of the output gradient instead of 144.

    dW[kh, kw, i, o] = sum over n, y, x of  xpad[n, y + kh, x + kw, i] * g[n, y, x, o]

Cut g into 4x4 tiles and the zero-padded input into the overlapping 6x6 tiles they meet. Per
tile the sum is the 3x3 correlation of a 6x6 input with a 4x4 filter, which F(3x3, 4x4) gives
as  G^T [(A g_t A^T) * (B^T x_t B)] G  (elementwise product of two 6x6 arrays); the matrices
are F(4x4, 3x3)'s, the one used for forward passes, with the roles of A and G exchanged. The
sum over tiles (and the pairing of input with output channels) moves inside the brackets, so
the whole gradient is one batched matrix product over the 36 positions of a transformed tile,
[36, T, in] x [36, T, out] -> [36, in, out] for T tiles, then the 3x3 back-transform.

Exact in exact arithmetic; in float32 the transforms' coefficients (up to 8) leave relative
errors near 1e-5 (the direct gradient's ~1e-6), far below what training notices; conv3x3.py
uses it for float32 only. The output's height and width must be multiples of 4; the padded
form serves reflected and circular padding too.
"""
import jax.numpy as jnp
import numpy as np
from jax import lax

TILE = 4  # output-gradient tile side (m)
SPAN = TILE + 2  # input tile side (m + r - 1): what a 4x4 tile's 3x3 window reads

# F(4x4, 3x3) (Lavin & Gray, section 4.2), interpolation points 0, +-1, +-2 and infinity
_BT = np.array([[4, 0, -5, 0, 1, 0],
                [0, -4, -4, 1, 1, 0],
                [0, 4, -4, -1, 1, 0],
                [0, -2, -1, 2, 1, 0],
                [0, 2, -1, -2, 1, 0],
                [0, 4, 0, -5, 0, 1]], np.float32)
_G = np.array([[1 / 4, 0, 0],
               [-1 / 6, -1 / 6, -1 / 6],
               [-1 / 6, 1 / 6, -1 / 6],
               [1 / 24, 1 / 12, 1 / 6],
               [1 / 24, -1 / 12, 1 / 6],
               [0, 0, 1]], np.float32)
_AT = np.array([[1, 1, 1, 1, 1, 0],
                [0, 1, -1, 2, -2, 0],
                [0, 1, 1, 4, 4, 0],
                [0, 1, -1, 8, -8, 1]], np.float32)
# [9, 36]: the back-transform G^T Z G of all 36 positions at once, as one small matrix product
_BACK = np.kron(_G, _G).T


def _combine(matrix, parts):
    """[sum_j matrix[i, j] * parts[j] for each row i], skipping the zero coefficients: a few
    adds per element that XLA fuses, where a dense product would multiply mostly zeros."""
    out = []
    for row in matrix:
        terms = [p if c == 1 else -p if c == -1 else float(c) * p
                 for c, p in zip(row, parts) if c != 0]
        total = terms[0]
        for t in terms[1:]:
            total = total + t
        out.append(total)
    return out


def _transform_tiles(x, matrix, size, stride):
    """matrix @ tile @ matrix^T for every size x size tile of x [N, H', W', C] starting at
    multiples of `stride`, rows first, then columns: [36, T, C] (T = N * H/4 * W/4)."""
    n, h, w, c = x.shape
    th, tw = (h - size) // stride + 1, (w - size) // stride + 1
    rows = [x[:, i:i + stride * (th - 1) + 1:stride] for i in range(size)]  # [N, th, W', C]
    mixed = jnp.stack(_combine(matrix, rows))  # [6, N, th, W', C]
    cols = [mixed[:, :, :, j:j + stride * (tw - 1) + 1:stride] for j in range(size)]
    tiles = jnp.stack(_combine(matrix, cols), axis=1)  # [6, 6, N, th, tw, C]
    return tiles.reshape(SPAN * SPAN, n * th * tw, c)


def weight_grad_3x3(x, g):
    """The kernel gradient [3, 3, in, out] of `conv(x, kernel)` (3x3, stride 1, 'SAME') for
    the output gradient g: x [N, H, W, in], g [N, H, W, out], H and W multiples of 4."""
    if g.shape[:3] != x.shape[:3]:
        raise ValueError(f"weight_grad_3x3 needs maps of the same size, got input {x.shape} "
                         f"and gradient {g.shape}")
    return weight_grad_3x3_padded(jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0))), g)


def weight_grad_3x3_padded(xpad, g):
    """The same for a 'VALID' 3x3 convolution of an input padded by one pixel on each side
    (any padding: zeros, reflected, circular): xpad [N, H + 2, W + 2, in], g [N, H, W, out]."""
    n, h, w, _ = g.shape
    if h % TILE or w % TILE or xpad.shape[:3] != (n, h + 2, w + 2):
        raise ValueError(f"weight_grad_3x3 needs an output gradient with sides multiples of "
                         f"{TILE} and an input one pixel larger on each side, got input "
                         f"{xpad.shape} and gradient {g.shape}")
    c_in = xpad.shape[-1]
    x_tiles = _transform_tiles(xpad, _BT, SPAN, TILE)  # B^T x_t B
    g_tiles = _transform_tiles(g, _AT.T, TILE, TILE)  # A g_t A^T
    # sum over tiles for every position of the 6x6 transform: [36, in, out]
    products = lax.dot_general(x_tiles, g_tiles, (((1,), (1,)), ((0,), (0,))))
    back = jnp.asarray(_BACK, products.dtype) @ products.reshape(SPAN * SPAN, -1)
    return back.reshape(3, 3, c_in, g.shape[-1])
