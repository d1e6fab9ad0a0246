"""The SRResNet/EDSR family: shapes, sizes, and a fresh bicubic-skip net being bicubic."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jresgen.models.sr import SRResNet
from jresgen.nn import count_params, residual_bytes


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


def _loss_and_grads(model, variables, x):
    def loss(params):
        out, new_stats = model.apply({**variables, "params": params}, x, train=True,
                                     mutable=["batch_stats"])
        return jnp.mean(jnp.abs(out - 0.5)), new_stats
    return jax.value_and_grad(loss, has_aux=True)(variables["params"])


@pytest.mark.parametrize("policy", ["dots_saveable", "nothing_saveable"])
def test_remat_is_the_same_computation(policy):
    """Same variable tree (checkpoints carry over), same loss, BatchNorm statistics and
    gradients."""
    x = jax.random.uniform(jax.random.PRNGKey(1), (2, 12, 12, 3))
    plain = SRResNet(num_blocks=3, features=16, norm="batch")
    remat = SRResNet(num_blocks=3, features=16, norm="batch", remat=policy)
    variables = plain.init(jax.random.PRNGKey(0), x)
    assert (jax.tree.map(jnp.shape, remat.init(jax.random.PRNGKey(0), x))
            == jax.tree.map(jnp.shape, variables))
    (l0, s0), g0 = _loss_and_grads(plain, variables, x)
    (l1, s1), g1 = _loss_and_grads(remat, variables, x)
    np.testing.assert_allclose(l0, l1, rtol=1e-6)
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7),
                 (s0, g0), (s1, g1))


def test_remat_cuts_the_memory_the_backward_pass_keeps():
    """The residuals JAX keeps from the forward pass for the backward pass (the leaves of the
    VJP closure): recomputing every block keeps less than half. (XLA:CPU then merges the
    recomputation back, see benchmarks/remat.py; GPU and TPU compilers keep it.)"""
    x = jnp.zeros((4, 32, 32, 3))

    def saved(policy):
        model = SRResNet(num_blocks=8, features=32, remat=policy)
        params = model.init(jax.random.PRNGKey(0), x[:1])["params"]
        return residual_bytes(lambda p: jnp.mean(model.apply({"params": p}, x) ** 2), params)

    none, dots, nothing = (saved(p) for p in ("none", "dots_saveable", "nothing_saveable"))
    assert nothing < dots < none and nothing < 0.5 * none


def test_unknown_remat_policy_is_one_config_error():
    from conftest import tiny_sr_config
    from jresgen.config import validate
    from jresgen.errors import UserError
    with pytest.raises(UserError, match="model.remat must be one of"):
        validate(tiny_sr_config(model__remat="sometimes"))
