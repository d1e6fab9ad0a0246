"""The SRResNet/EDSR family: shapes, sizes, and a fresh bicubic-skip net being bicubic."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jresgen.models.sr import SRResNet
from jresgen.nn import count_params


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_output_shape_for_each_scale(scale):
    model = SRResNet(scale=scale, num_blocks=2, features=16)
    x = jnp.zeros((2, 7, 9, 3))
    v = model.init(jax.random.PRNGKey(0), x)
    assert model.apply(v, x).shape == (2, 7 * scale, 9 * scale, 3)


def test_edsr_baseline_has_the_papers_parameter_count():
    model = SRResNet(scale=2, num_blocks=16, features=64)
    v = jax.eval_shape(model.init, jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
    assert count_params(v["params"]) == 1_369_859  # EDSR paper: 1.37M for the x2 baseline


def test_seed_net_layout():
    model = SRResNet(scale=2, num_blocks=2, features=64)
    v = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
    assert set(v["params"]) == {"head", "block_0", "block_1", "body_conv", "upsampler", "tail"}


def test_fresh_bicubic_skip_net_is_bicubic():
    model = SRResNet(scale=2, num_blocks=1, features=8, image_skip="bicubic")
    x = jax.random.uniform(jax.random.PRNGKey(1), (1, 8, 8, 3))
    v = model.init(jax.random.PRNGKey(0), x)
    np.testing.assert_allclose(model.apply(v, x), jax.image.resize(x, (1, 16, 16, 3), "cubic"),
                               atol=1e-6)


def test_batchnorm_variant_has_statistics():
    model = SRResNet(scale=2, num_blocks=2, features=8, norm="batch", activation="prelu")
    v = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 8, 8, 3)))
    assert "batch_stats" in v


def test_bfloat16_compute_keeps_float32_params_and_output():
    x = jax.random.uniform(jax.random.PRNGKey(1), (1, 8, 8, 3))
    f32 = SRResNet(scale=2, num_blocks=2, features=16)
    bf16 = SRResNet(scale=2, num_blocks=2, features=16, dtype=jnp.bfloat16)
    v = f32.init(jax.random.PRNGKey(0), x)
    assert jax.tree.map(lambda p: p.dtype, bf16.init(jax.random.PRNGKey(0), x)) == \
        jax.tree.map(lambda p: p.dtype, v)
    out = bf16.apply(v, x)
    assert out.dtype == jnp.float32
    np.testing.assert_allclose(out, f32.apply(v, x), atol=0.05)
