"""2x2 max pooling with stride 2 whose gradient is elementwise.

`flax.linen.max_pool` is a `reduce_window`; its gradient is XLA's select-and-scatter, which
XLA:CPU expands into a scatter fed by index iotas: in LeNet's step that backward took ~2 ms of
~15 (one thread), more than its two pooling layers' share of the arithmetic. With a
non-overlapping 2x2 window the same maximum is a reshape and a reduction, and its gradient a
mask: the incoming gradient goes to the first maximal element of each window in row-major
order, which is where select-and-scatter (and PyTorch's max_pool2d) sends it on ties.
"""
import jax
import jax.numpy as jnp


def _windows(x):
    """[N, H, W, C] (H, W even) -> [N, H/2, 2, W/2, 2, C]."""
    n, h, w, c = x.shape
    return x.reshape(n, h // 2, 2, w // 2, 2, c)


@jax.custom_vjp
def _max_pool_even(x):
    return _windows(x).max(axis=(2, 4))


def _fwd(x):
    y = _max_pool_even(x)
    return y, (x, y)


def _bwd(res, g):
    x, y = res
    hit = _windows(x) == y[:, :, None, :, None, :]
    # the first maximal element in the window's row-major order takes the gradient
    taken = jnp.zeros_like(hit[:, :, 0, :, 0])
    rows = []
    for a in range(2):
        cols = []
        for b in range(2):
            first = hit[:, :, a, :, b] & ~taken
            taken = taken | first
            cols.append(first)
        rows.append(jnp.stack(cols, axis=3))
    mask = jnp.stack(rows, axis=2)
    dx = jnp.where(mask, g[:, :, None, :, None, :], jnp.zeros((), g.dtype))
    return (dx.reshape(x.shape),)


_max_pool_even.defvjp(_fwd, _bwd)


def max_pool_2x2(x):
    """`nn.max_pool(x, (2, 2), strides=(2, 2))` on NHWC (VALID: an odd last row or column is
    dropped), with the elementwise gradient above."""
    n, h, w, c = x.shape
    return _max_pool_even(x[:, : h - h % 2, : w - w % 2])
