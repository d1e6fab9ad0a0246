"""Residual blocks and pixel shuffle against independent references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

import flax.linen as nn

from jresgen.nn import (BasicBlock, BottleneckBlock, PixelShuffleUpsampler, PreActBlock,
                        ResidualDownBlock, ResidualUpBlock, UpConv4x4, downsample_avg, make_norm,
                        pixel_shuffle, upsample_nearest)
from jresgen.nn.resample_conv import Conv3x3AvgPool, UpsampleConv3x3


def _conv(x, p, stride=1):
    """SAME-padded NHWC conv with a flax Conv's params: the reference for the blocks."""
    k = p["kernel"]
    pad = [((k.shape[0] - 1) // 2, k.shape[0] // 2)] * 2 if stride == 1 else "SAME"
    y = jax.lax.conv_general_dilated(x, k, (stride, stride), pad,
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y + p["bias"] if "bias" in p else y


def _x(shape=(2, 8, 8, 4), seed=0):
    return jax.random.normal(jax.random.PRNGKey(seed), shape)


def test_pixel_shuffle_matches_pytorch_definition():
    # PyTorch: out[c, h*r+i, w*r+j] = in[c*r*r + i*r + j, h, w]; a loop is the reference.
    r, c, h, w = 3, 2, 4, 5
    x = np.random.default_rng(0).normal(size=(1, h, w, c * r * r)).astype(np.float32)
    ref = np.zeros((1, h * r, w * r, c), np.float32)
    for ch in range(c):
        for i in range(r):
            for j in range(r):
                ref[0, i::r, j::r, ch] = x[0, :, :, ch * r * r + i * r + j]
    np.testing.assert_array_equal(np.asarray(pixel_shuffle(jnp.asarray(x), r)), ref)


def test_pixel_shuffle_rejects_bad_channels():
    with pytest.raises(ValueError):
        pixel_shuffle(jnp.zeros((1, 2, 2, 6)), 2)


def test_upconv4x4_is_pytorch_conv_transpose_k4_s2_p1():
    # PyTorch's definition, as a scatter loop: input pixel (y, x) adds K[ky, kx] to output
    # pixel (2y - 1 + ky, 2x - 1 + kx) (padding 1 crops one row/column on each side).
    x = np.asarray(_x((2, 3, 5, 4)))
    module = UpConv4x4(3, use_bias=True, bias_init=jax.nn.initializers.normal(1.0))
    params = module.init(jax.random.PRNGKey(1), x)["params"]
    k, bias = np.asarray(params["kernel"]), np.asarray(params["bias"])
    assert k.shape == (4, 4, 3, 4)  # flax's transposed layout [kh, kw, out, in]
    full = np.zeros((2, 2 * 3 + 2, 2 * 5 + 2, 3), np.float32)
    for y in range(3):
        for xx in range(5):
            for ky in range(4):
                for kx in range(4):
                    full[:, 2 * y + ky, 2 * xx + kx] += x[:, y, xx] @ k[ky, kx].T
    ref = full[:, 1:-1, 1:-1] + bias
    out = module.apply({"params": params}, x)
    np.testing.assert_allclose(np.asarray(out), ref, atol=1e-5)


def test_upconv4x4_matches_flax_conv_transpose_with_the_same_params_and_gradients():
    x = _x((2, 4, 4, 6))
    flax_layer = nn.ConvTranspose(5, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)),
                                  transpose_kernel=True, use_bias=False)
    ours = UpConv4x4(5)
    variables = flax_layer.init(jax.random.PRNGKey(2), x)
    assert (jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(2), x))
            == jax.tree.map(jnp.shape, variables))

    def loss(module):
        return lambda v, x: jnp.sum(jnp.sin(module.apply(v, x)))

    np.testing.assert_allclose(ours.apply(variables, x), flax_layer.apply(variables, x),
                               atol=1e-5)
    ours_grad = jax.grad(loss(ours), (0, 1))(variables, x)
    flax_grad = jax.grad(loss(flax_layer), (0, 1))(variables, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4), ours_grad, flax_grad)


def test_upconv4x4_computes_in_its_dtype_with_float32_params():
    module = UpConv4x4(2, dtype=jnp.bfloat16)
    variables = module.init(jax.random.PRNGKey(0), _x((1, 2, 2, 3)))
    assert variables["params"]["kernel"].dtype == jnp.float32
    assert module.apply(variables, _x((1, 2, 2, 3))).dtype == jnp.bfloat16


@pytest.mark.parametrize("scale,shape", [(2, (1, 10, 12, 8)), (3, (1, 15, 18, 8)),
                                         (4, (1, 20, 24, 8))])
def test_upsampler_scales(scale, shape):
    m = PixelShuffleUpsampler(8, scale)
    x = jnp.ones((1, 5, 6, 8))
    v = m.init(jax.random.PRNGKey(0), x)
    assert m.apply(v, x).shape == shape


def test_basic_block_is_conv_relu_conv_plus_identity():
    x = _x()
    block = BasicBlock(4, res_scale=0.5)
    p = block.init(jax.random.PRNGKey(1), x)["params"]
    ref = x + 0.5 * _conv(jax.nn.relu(_conv(x, p["conv1"])), p["conv2"])
    np.testing.assert_allclose(block.apply({"params": p}, x), ref, rtol=1e-5, atol=1e-5)


def test_basic_block_projection_shortcut_when_shape_changes():
    x = _x()
    block = BasicBlock(8, strides=2, post_activation=True)
    p = block.init(jax.random.PRNGKey(1), x)["params"]
    assert p["shortcut_conv"]["kernel"].shape == (1, 1, 4, 8)
    y = block.apply({"params": p}, x)
    branch = _conv(jax.nn.relu(_conv(x, p["conv1"], 2)), p["conv2"])
    ref = jax.nn.relu(_conv(x, p["shortcut_conv"], 2) + branch)
    assert y.shape == (2, 4, 4, 8)
    np.testing.assert_allclose(y, ref, rtol=1e-5, atol=1e-5)


def test_preact_block_matches_reference():
    x = _x()
    block = PreActBlock(8)
    p = block.init(jax.random.PRNGKey(2), x)["params"]
    pre = jax.nn.relu(x)
    ref = _conv(pre, p["shortcut_conv"]) + _conv(jax.nn.relu(_conv(pre, p["conv1"])), p["conv2"])
    np.testing.assert_allclose(block.apply({"params": p}, x), ref, rtol=1e-5, atol=1e-5)


def test_bottleneck_block_matches_reference():
    x = _x()
    block = BottleneckBlock(2)  # 2 -> expands to 8 channels: projection shortcut
    p = block.init(jax.random.PRNGKey(3), x)["params"]
    y = jax.nn.relu(_conv(x, p["conv1"]))
    y = jax.nn.relu(_conv(y, p["conv2"]))
    ref = jax.nn.relu(_conv(x, p["shortcut_conv"]) + _conv(y, p["conv3"]))
    np.testing.assert_allclose(block.apply({"params": p}, x), ref, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize("norm", ["batch", "instance", "group", "layer"])
def test_zero_init_residual_makes_a_fresh_block_the_identity(norm):
    x = _x()
    block = BasicBlock(4, norm=norm, zero_init_residual=True)
    v = block.init(jax.random.PRNGKey(0), x, train=False)
    np.testing.assert_allclose(block.apply(v, x, train=False), x, atol=1e-6)


def test_batchnorm_block_updates_statistics_in_training():
    x = _x()
    block = BasicBlock(4, norm="batch")
    v = block.init(jax.random.PRNGKey(0), x)
    _, new = block.apply(v, x, train=True, mutable=["batch_stats"])
    before = jax.tree.leaves(v["batch_stats"])
    after = jax.tree.leaves(new["batch_stats"])
    assert any(not np.allclose(a, b) for a, b in zip(before, after))


@pytest.mark.parametrize("kind,axes", [("instance", (1, 2)), ("layer", (-1,))])
def test_norms_normalise_over_their_axes(kind, axes):
    x = _x() * 3 + 1
    layer = make_norm(kind)(name="n")
    y = layer.apply(layer.init(jax.random.PRNGKey(0), x), x)
    np.testing.assert_allclose(y.mean(axis=axes), 0, atol=1e-5)
    np.testing.assert_allclose(y.var(axis=axes), 1, atol=1e-3)


@pytest.mark.parametrize("module, reference", [
    (UpsampleConv3x3, lambda layer: lambda x: layer(upsample_nearest(x))),
    (Conv3x3AvgPool, lambda layer: lambda x: downsample_avg(layer(x))),
], ids=["upsample_conv", "conv_avg_pool"])
def test_resampling_convs_match_conv_and_resampling_with_the_same_params(module, reference):
    """Same parameters, outputs and gradients (inputs and parameters) as flax's Conv next to
    the explicit resampling, borders included (odd-looking 6x10 input, bias on)."""
    x = _x((2, 6, 10, 3), seed=3)
    conv = nn.Conv(5, (3, 3), bias_init=jax.nn.initializers.normal(1.0))
    ours = module(5, bias_init=jax.nn.initializers.normal(1.0))
    variables = conv.init(jax.random.PRNGKey(4), x)
    assert (jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(4), x))
            == jax.tree.map(jnp.shape, variables))

    def ours_fn(v, x):
        return ours.apply(v, x)

    def ref_fn(v, x):
        return reference(lambda u: conv.apply(v, u))(x)

    def loss(f):
        return lambda v, x: jnp.sum(jnp.sin(f(v, x)))

    np.testing.assert_allclose(ours_fn(variables, x), ref_fn(variables, x), atol=1e-5)
    ours_grad = jax.grad(loss(ours_fn), (0, 1))(variables, x)
    ref_grad = jax.grad(loss(ref_fn), (0, 1))(variables, x)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, atol=1e-4), ours_grad, ref_grad)


def test_conv_avg_pool_rejects_odd_sizes():
    with pytest.raises(ValueError, match="even"):
        Conv3x3AvgPool(2).init(jax.random.PRNGKey(0), _x((1, 5, 4, 2)))


def test_up_and_down_blocks_change_resolution():
    x = _x((2, 8, 8, 4))
    up, down = ResidualUpBlock(6), ResidualDownBlock(6)
    vu = up.init(jax.random.PRNGKey(0), x)
    vd = down.init(jax.random.PRNGKey(0), x)
    assert up.apply(vu, x).shape == (2, 16, 16, 6)
    assert down.apply(vd, x).shape == (2, 4, 4, 6)


def test_reflect_padded_up_and_down_blocks_resample_at_full_resolution():
    """Mirrored borders do not fold into a low-resolution conv: those blocks upsample/pool
    explicitly around the same 3x3 conv parameters."""
    x = _x((2, 8, 8, 4))
    for cls, shape in ((ResidualUpBlock, (2, 16, 16, 6)), (ResidualDownBlock, (2, 4, 4, 6))):
        reflect, zeros = cls(6, padding="REFLECT"), cls(6)
        variables = zeros.init(jax.random.PRNGKey(0), x)  # the same parameters fit both
        out = reflect.apply(variables, x)
        assert out.shape == shape
        # the mirrored border reached the output (a zero-padded low-resolution conv would not)
        assert float(jnp.abs(out - zeros.apply(variables, x)).max()) > 1e-3


def test_unknown_norm_and_activation_are_rejected():
    x = _x()
    with pytest.raises(ValueError, match="unknown norm"):
        BasicBlock(4, norm="weird").init(jax.random.PRNGKey(0), x)
    with pytest.raises(ValueError, match="unknown activation"):
        BasicBlock(4, activation="weird").init(jax.random.PRNGKey(0), x)


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (3, 7, 9, 2)])
def test_max_pool_2x2_matches_flax_max_pool_and_its_gradient_on_ties(shape):
    from jresgen.nn import max_pool_2x2
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    x = jnp.round(x * 2) / 2  # values on a 0.5 grid: many windows hold several maxima
    win = x[:, :shape[1] // 2 * 2, :shape[2] // 2 * 2].reshape(
        shape[0], shape[1] // 2, 2, shape[2] // 2, 2, shape[3])
    assert int(((win == win.max(axis=(2, 4), keepdims=True)).sum(axis=(2, 4)) > 1).sum()) > 0
    flax_pool = lambda v: nn.max_pool(v, (2, 2), strides=(2, 2))  # noqa: E731
    np.testing.assert_array_equal(max_pool_2x2(x), flax_pool(x))
    g = jax.random.normal(jax.random.PRNGKey(1), flax_pool(x).shape)
    # select-and-scatter's gradient goes to the first maximum of each window; so must ours
    np.testing.assert_array_equal(jax.vjp(max_pool_2x2, x)[1](g)[0],
                                  jax.vjp(flax_pool, x)[1](g)[0])


def test_max_pool_2x2_gradient_takes_the_first_of_tied_maxima():
    from jresgen.nn import max_pool_2x2
    x = jnp.array([[1.0, 3.0], [3.0, 3.0]]).reshape(1, 2, 2, 1)
    dx = jax.grad(lambda v: max_pool_2x2(v).sum())(x)
    np.testing.assert_array_equal(dx.reshape(2, 2), [[0.0, 1.0], [0.0, 0.0]])


@pytest.mark.parametrize("shape", [(2, 8, 8, 3), (2, 16, 16, 16), (1, 16, 32, 24)])
def test_conv4x4_s2_matches_a_strided_conv_and_its_gradients(shape):
    """The folded input gradient (space-to-depth, used from 16x16 and 16 channels up) and the
    plain one both equal the gradients of nn.Conv(4x4, stride 2, padding 1)."""
    from jresgen.nn import Conv4x4S2
    x = jax.random.normal(jax.random.PRNGKey(0), shape)
    ours = Conv4x4S2(5, use_bias=False)
    ref = nn.Conv(5, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)), use_bias=False)
    params = ours.init(jax.random.PRNGKey(1), x)
    assert jax.tree.map(jnp.shape, params) == jax.tree.map(jnp.shape, ref.init(
        jax.random.PRNGKey(1), x))
    loss = lambda m: lambda p, v: (m.apply(p, v) ** 2).sum()  # noqa: E731
    np.testing.assert_allclose(ours.apply(params, x), ref.apply(params, x), rtol=1e-5, atol=1e-5)
    for a, b in zip(jax.grad(loss(ours), (0, 1))(params, x), jax.grad(loss(ref), (0, 1))(params, x)):
        for u, v in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            np.testing.assert_allclose(u, v, rtol=1e-4, atol=1e-4 * float(jnp.abs(v).max()))


def test_conv4x4_s2_rejects_odd_sizes():
    from jresgen.nn import conv4x4_s2
    with pytest.raises(ValueError, match="even height and width"):
        conv4x4_s2(jnp.zeros((1, 7, 8, 2)), jnp.zeros((4, 4, 2, 3)))
