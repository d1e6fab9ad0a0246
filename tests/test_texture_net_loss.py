"""The loss options of feed-forward texture nets: the pyramid (jresgen/texture/pyramid.py,
config.loss.pyramid), whose level p is the plain Gram loss of the images pooled by 2^p, and
config.loss.batch_gram, the loss of the batch's mean Gram matrix."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import CONFIGS
from jresgen.config import load_config
from jresgen.errors import UserError
from jresgen.metrics.gram import gram_loss, inverse_norm_weights
from jresgen.models.features import build_feature_extractor, default_features_config
from jresgen.tasks import texture_net
from jresgen.texture.pyramid import pool, pyramid_features, pyramid_grams, pyramid_layers
from jresgen.texture.synthesis import exemplar_grams


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation(cheap_compilation):
    """These tests compile small functions once each; XLA's cheap pipeline halves their time."""


def _extractor(layers=(0, 1, 2)):  # min sides 5, 10, 20
    cfg = default_features_config()
    cfg.layers = layers
    return build_feature_extractor(cfg)


def _numpy_pool(images, factor):
    b, h, w, c = images.shape
    h, w = h // factor * factor, w // factor * factor
    return images[:, :h, :w].reshape(b, h // factor, factor, w // factor, factor, c).mean((2, 4))


def _numpy_gram(f):
    f = np.asarray(f, np.float64)
    b, h, w, c = f.shape
    flat = f.reshape(b, h * w, c)
    return np.einsum("bpi,bpj->bij", flat, flat) / (h * w)


def test_pool_is_block_mean():
    x = np.random.default_rng(0).uniform(size=(2, 13, 10, 3)).astype(np.float32)
    for level in (0, 1, 2):
        np.testing.assert_allclose(pool(jnp.asarray(x), level), _numpy_pool(x, 2 ** level),
                                   atol=1e-6)


def test_levels_keep_the_layers_that_fit():
    extractor = _extractor()
    levels = pyramid_layers(extractor, 40, (64, 64), 3)
    assert [p for p, _ in levels] == [0, 1, 2]
    assert levels[0][1].layer_names == ("scale0", "scale1", "scale2")
    assert levels[1][1].layer_names == ("scale0", "scale1", "scale2")  # 20 pixels
    assert levels[2][1].layer_names == ("scale0", "scale1")  # 10 pixels
    with pytest.raises(UserError, match="pyramid 4"):
        pyramid_layers(extractor, 32, (64, 64), 4)  # 4 pixels fit no layer
    with pytest.raises(UserError, match="at least 1"):
        pyramid_layers(extractor, 32, (64, 64), 0)


def test_each_level_is_the_gram_loss_of_the_pooled_images():
    rng = np.random.default_rng(1)
    exemplar = rng.uniform(size=(64, 48, 3)).astype(np.float32)
    images = rng.uniform(size=(2, 40, 40, 3)).astype(np.float32)
    extractor = _extractor()
    levels = pyramid_layers(extractor, 40, exemplar.shape[:2], 3)
    targets = pyramid_grams(levels, exemplar)
    features = pyramid_features(levels, extractor.params, jnp.asarray(images))
    assert len(targets) == len(features) == 3 + 3 + 2
    start = 0
    for p, layers in levels:
        n = len(layers.layer_names)
        pooled_ex = _numpy_pool(exemplar[None], 2 ** p)
        pooled = _numpy_pool(images, 2 ** p)
        # targets: the exemplar pooled by 2^p, its Grams computed in numpy
        for t, f in zip(targets[start:start + n], layers(pooled_ex)):
            np.testing.assert_allclose(t, _numpy_gram(f)[0], rtol=1e-4, atol=1e-6)
        # the level's share of the loss: the plain Gram loss of the pooled outputs
        want = gram_loss(layers(pooled), targets[start:start + n],
                         inverse_norm_weights(targets[start:start + n]))
        got = gram_loss(features[start:start + n], targets[start:start + n],
                        inverse_norm_weights(targets[start:start + n]))
        np.testing.assert_allclose(got, want, rtol=1e-5)
        start += n


def test_one_level_is_the_plain_loss_of_the_config():
    """texture_net_brick:tiny without loss.pyramid (and with 1) trains today's loss."""
    config = load_config(f"{CONFIGS}/texture_net_brick.py:tiny")
    config.loss.pyramid = 1
    images = np.random.default_rng(2).uniform(
        size=(2, config.data.patch_size, config.data.patch_size, 3)).astype(np.float32)
    extractor = build_feature_extractor(config.features)
    exemplar = texture_net._exemplar(config.data.exemplar)[0]
    targets = exemplar_grams(extractor, exemplar)
    want = gram_loss(extractor(images), targets, inverse_norm_weights(targets))
    _, grams = texture_net.feature_statistics(config)
    assert len(grams) == len(targets)
    got = gram_loss(pyramid_features(texture_net.loss_terms(config), extractor.params,
                                     jnp.asarray(images)), grams, inverse_norm_weights(grams))
    np.testing.assert_allclose(got, want, rtol=1e-5)


def test_batch_gram_is_the_loss_of_the_mean_of_the_samples_grams():
    from jresgen import data as datasets
    from jresgen.train.optim import make_optimizer
    config = load_config(f"{CONFIGS}/texture_net_brick.py:tiny")
    config.loss.pyramid = 2
    source, _ = datasets.build(config)
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate, 10)
    state = texture_net.init_state(config, jax.random.PRNGKey(0), source.batch(0), make_tx)
    model = texture_net.build_model(config)
    size = config.data.patch_size
    noises = texture_net.draw_noise(model, state.rng, jnp.arange(3), size, size)
    per_sample, images = texture_net.texture_loss(config, state.params, state.model_state, noises)
    config.loss.batch_gram = True
    batch, _ = texture_net.texture_loss(config, state.params, state.model_state, noises)
    targets = state.model_state["target_grams"]
    feats = pyramid_features(texture_net.loss_terms(config), state.model_state["feature_params"],
                             jnp.broadcast_to(images, images.shape[:3] + (3,)))
    grams = [_numpy_gram(f) for f in feats]  # [3, C, C] per term
    targets = [np.asarray(t, np.float64) for t in targets]
    want_batch = sum(np.mean((g.mean(0) - t) ** 2) / np.mean(t ** 2)
                     for g, t in zip(grams, targets))
    want_each = sum(np.mean((g - t) ** 2) / np.mean(t ** 2) for g, t in zip(grams, targets))
    np.testing.assert_allclose(batch, want_batch, rtol=1e-4)
    np.testing.assert_allclose(per_sample, want_each, rtol=1e-4)
    assert float(batch) < float(per_sample)  # the mean Gram is nearer: the samples differ
