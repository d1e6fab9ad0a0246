"""The 3x3 convolution whose weight gradient goes by Winograd F(3x3, 4x4) on the CPU with few
images per device (jresgen/nn/conv3x3.py, jresgen/nn/winograd.py)."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jresgen.nn import Conv3x3, conv3x3
from jresgen.nn.conv3x3 import winograd_applies
from jresgen.nn.winograd import weight_grad_3x3


def _numpy_weight_grad(x, g):
    """dW[kh, kw, i, o] = sum_{n, y, x} xpad[n, y + kh, x + kw, i] g[n, y, x, o], in float64."""
    x, g = np.asarray(x, np.float64), np.asarray(g, np.float64)
    n, h, w, _ = x.shape
    xpad = np.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
    return np.stack([np.stack([np.einsum("nyxi,nyxo->io", xpad[:, a:a + h, b:b + w], g)
                               for b in range(3)]) for a in range(3)])


@pytest.mark.parametrize("shape", [(1, 4, 4, 1, 1), (2, 8, 12, 3, 5), (4, 24, 16, 16, 32),
                                   (3, 12, 8, 7, 2)])
def test_winograd_weight_grad_matches_the_direct_sum(shape):
    n, h, w, c_in, c_out = shape
    kx, kg = jax.random.split(jax.random.PRNGKey(0))
    x = jax.random.normal(kx, (n, h, w, c_in))
    g = jax.random.normal(kg, (n, h, w, c_out))
    want = _numpy_weight_grad(x, g)
    got = np.asarray(jax.jit(weight_grad_3x3)(x, g))
    assert got.shape == (3, 3, c_in, c_out)
    np.testing.assert_allclose(got, want, rtol=0, atol=3e-5 * np.abs(want).max())


def test_winograd_weight_grad_rejects_sides_not_multiples_of_4():
    with pytest.raises(ValueError, match="multiples of 4"):
        weight_grad_3x3(jnp.zeros((1, 6, 8, 2)), jnp.zeros((1, 6, 8, 2)))


def test_conv3x3_rejects_other_paddings():
    with pytest.raises(ValueError, match="padding must be one of SAME, REFLECT, CIRCULAR"):
        conv3x3(jnp.zeros((1, 8, 8, 2)), jnp.zeros((3, 3, 2, 2)), "VALID")


@pytest.mark.parametrize("shape", [
    (4, 24, 24, 16),  # Winograd weight gradient
    (2, 8, 12, 32),  # Winograd, non-square
    (8, 8, 8, 16),  # more images than WINOGRAD_MAX_BATCH: XLA's
    (2, 6, 10, 16),  # sides not multiples of 4: XLA's
    (2, 8, 8, 3),  # RGB input: XLA's
])
@pytest.mark.parametrize("padding", ["SAME", "REFLECT", "CIRCULAR"])
def test_conv3x3_matches_nn_conv_and_its_gradients(shape, padding):
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    ours, ref = Conv3x3(16, padding=padding), nn.Conv(16, (3, 3), padding=padding)
    params = ours.init(jax.random.PRNGKey(1), x)
    ref_params = ref.init(jax.random.PRNGKey(1), x)
    # the same parameter names, shapes and initial values: checkpoints and seeds carry over
    jax.tree.map(np.testing.assert_array_equal, params, ref_params)
    loss = lambda m: lambda p, v: (jnp.sin(m.apply(p, v)) ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
    got = jax.jit(jax.grad(loss(ours), (0, 1)))(params, x)
    want = jax.grad(loss(ref), (0, 1))(params, x)
    for u, v in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
        np.testing.assert_allclose(u, v, rtol=0, atol=2e-5 * float(jnp.abs(v).max()))


def test_winograd_applies_only_where_it_measured_faster():
    assert winograd_applies((4, 24, 24, 64), (4, 24, 24, 64), jnp.float32)
    assert not winograd_applies((8, 24, 24, 64), (8, 24, 24, 64), jnp.float32)  # batch
    assert not winograd_applies((4, 24, 22, 64), (4, 24, 22, 64), jnp.float32)  # width
    assert not winograd_applies((4, 24, 24, 3), (4, 24, 24, 64), jnp.float32)  # RGB in
    assert not winograd_applies((4, 24, 24, 64), (4, 24, 24, 3), jnp.float32)  # RGB out
    assert not winograd_applies((4, 24, 24, 64), (4, 24, 24, 64), jnp.bfloat16)
    assert winograd_applies((4, 64, 64, 64), (4, 64, 64, 64), jnp.float32)  # 19 MB of tiles
    assert not winograd_applies((4, 128, 128, 32), (4, 128, 128, 32), jnp.float32)  # 38 MB


def _convolutions(fn, *args):
    return jax.jit(fn).lower(*args).as_text().count("stablehlo.convolution")


def test_the_cpu_step_runs_the_weight_gradient_by_winograd():
    """On the CPU the lowered gradient holds two convolutions (forward, input gradient), not
    three; with too many images, three."""
    kernel = jnp.ones((3, 3, 16, 16))
    grad = jax.value_and_grad(lambda x, k: conv3x3(x, k).sum(), (0, 1))
    assert _convolutions(grad, jnp.ones((4, 8, 8, 16)), kernel) == 2
    assert _convolutions(grad, jnp.ones((8, 8, 8, 16)), kernel) == 3


@pytest.mark.parametrize("padding", ["REFLECT", "CIRCULAR"])
def test_padded_forms_run_the_weight_gradient_by_winograd_too(padding):
    kernel = jnp.ones((3, 3, 16, 16))
    grad = jax.value_and_grad(lambda x, k: conv3x3(x, k, padding).sum(), (0, 1))
    assert _convolutions(grad, jnp.ones((4, 8, 8, 16)), kernel) == 2
    assert _convolutions(grad, jnp.ones((8, 8, 8, 16)), kernel) == 3


def test_only_the_gradients_asked_for_are_computed():
    kernel = jnp.ones((3, 3, 16, 16))
    x = jnp.ones((8, 8, 8, 16))
    assert _convolutions(jax.value_and_grad(lambda k: conv3x3(x, k).sum()), kernel) == 2
    assert _convolutions(jax.value_and_grad(lambda v: conv3x3(v, kernel).sum()), x) == 2


def test_flop_count_is_the_models_where_winograd_runs():
    """benchmarks/flops.py counts the direct convolution's multiply-adds (as PyTorch does),
    not those of both platform branches nor the Winograd product's."""
    from benchmarks.flops import analytic_flops
    kernel = jnp.ones((3, 3, 16, 16))
    grad = jax.grad(lambda x, k: conv3x3(x, k).sum(), (0, 1))
    conv_flops = 2 * 4 * 8 * 8 * 9 * 16 * 16  # one pass at batch 4
    assert winograd_applies((4, 8, 8, 16), (4, 8, 8, 16), jnp.float32)
    assert analytic_flops(grad, jnp.ones((4, 8, 8, 16)), kernel) == 3 * conv_flops


def test_padded_winograd_weight_grad_matches_the_direct_sum():
    """Any padding: the gradient of a 'VALID' convolution over an input one pixel larger."""
    from jresgen.nn.winograd import weight_grad_3x3_padded
    kx, kg = jax.random.split(jax.random.PRNGKey(1))
    xpad = jax.random.normal(kx, (2, 10, 14, 3))
    g = jax.random.normal(kg, (2, 8, 12, 5))
    xpad64, g64 = np.asarray(xpad, np.float64), np.asarray(g, np.float64)
    want = np.stack([np.stack([np.einsum("nyxi,nyxo->io", xpad64[:, a:a + 8, b:b + 12], g64)
                               for b in range(3)]) for a in range(3)])
    got = np.asarray(weight_grad_3x3_padded(xpad, g))
    np.testing.assert_allclose(got, want, rtol=0, atol=3e-5 * np.abs(want).max())
