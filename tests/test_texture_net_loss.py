"""The loss options of feed-forward texture nets: the pyramid (jresgen/texture/pyramid.py,
config.loss.pyramid), whose level p is the plain Gram loss of the images pooled by 2^p,
config.loss.batch_gram, the loss of the batch's mean Gram matrix, config.loss.level_weights and
fine_ramp_steps (the weight of each level's terms), config.loss.shift_grams (shifted Gram
matrices), and data.exemplar_scale (the exemplar the loss and the evaluation measure against)."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import CONFIGS
from jresgen.config import load_config
from jresgen.data.exemplars import load_exemplar, scale_exemplar
from jresgen.errors import UserError
from jresgen.metrics.gram import gram_loss, inverse_norm_weights
from jresgen.models.features import build_feature_extractor, default_features_config
from jresgen.tasks import texture_net
from jresgen.metrics.gram import shifted_gram_matrix
from jresgen.texture import pyramid
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
    config.loss.update(pyramid=1, level_weights=(), fine_ramp_steps=0, shift_grams=())
    images = np.random.default_rng(2).uniform(
        size=(2, config.data.patch_size, config.data.patch_size, 3)).astype(np.float32)
    extractor = build_feature_extractor(config.features)
    exemplar = texture_net._exemplar(config)[0]
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
    config.loss.update(pyramid=2, level_weights=(), fine_ramp_steps=0, shift_grams=())
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


def _tiny_state(**loss):
    """texture_net_brick:tiny with `loss` keys set, its state, and noise for 2 samples."""
    from jresgen import data as datasets
    from jresgen.train.optim import make_optimizer
    config = load_config(f"{CONFIGS}/texture_net_brick.py:tiny")
    config.loss.update(pyramid=1, level_weights=(), fine_ramp_steps=0, shift_grams=(),
                       random_shift=False)  # the step's loss then is texture_loss's
    for key, value in loss.items():
        config.loss[key] = value
    source, _ = datasets.build(config)
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate, 10)
    state = texture_net.init_state(config, jax.random.PRNGKey(0), source.batch(0), make_tx)
    size = config.data.patch_size
    noises = texture_net.draw_noise(texture_net.build_model(config), state.rng, jnp.arange(2),
                                    size, size)
    return config, state, noises


def _loss(config, state, noises, step=None):
    return float(texture_net.texture_loss(config, state.params, state.model_state, noises,
                                          step)[0])


def _fine_and_coarse(config, state, noises):
    """The loss of level 0's terms alone and of level 1's alone (pyramid 2)."""
    config.loss.level_weights = (1.0, 0.0)
    fine = _loss(config, state, noises)
    config.loss.level_weights = (0.0, 1.0)
    coarse = _loss(config, state, noises)
    config.loss.level_weights = ()
    return fine, coarse


def test_level_weights_scale_each_levels_terms():
    config, state, noises = _tiny_state(pyramid=2)
    fine, coarse = _fine_and_coarse(config, state, noises)
    plain = _loss(config, state, noises)
    assert fine > 0 and coarse > 0
    np.testing.assert_allclose(fine + coarse, plain, rtol=1e-5)
    config.loss.level_weights = (0.5, 3.0)
    np.testing.assert_allclose(_loss(config, state, noises), 0.5 * fine + 3.0 * coarse,
                               rtol=1e-5)
    config.loss.level_weights = (1.0, 2.0, 3.0)
    with pytest.raises(UserError, match="level_weights has 3 weights"):
        texture_net.level_weights(config)


def test_fine_ramp_brings_level_0_in_linearly():
    config, state, noises = _tiny_state(pyramid=2)
    fine, coarse = _fine_and_coarse(config, state, noises)
    config.loss.fine_ramp_steps = 100
    for step, share in ((0, 0.0), (50, 0.5), (100, 1.0), (250, 1.0)):
        np.testing.assert_allclose(_loss(config, state, noises, step), coarse + share * fine,
                                   rtol=1e-5, err_msg=f"step {step}")
    np.testing.assert_allclose(_loss(config, state, noises), coarse + fine, rtol=1e-5)
    # the train step passes its step: at step 0 only the coarse level counts
    _, metrics = texture_net.train_step(state, {"index": jnp.arange(2)}, config=config)
    size = config.data.patch_size
    step0 = texture_net.draw_noise(texture_net.build_model(config), state.rng, jnp.arange(2),
                                   size, size)
    np.testing.assert_allclose(metrics["loss"], _loss(config, state, step0, 0), rtol=1e-5)


def test_the_train_steps_gram_distance_is_the_plain_terms_mean():
    config, state, noises = _tiny_state(pyramid=2, level_weights=(0.25, 4.0),
                                        shift_grams=(16,))
    _, metrics = texture_net.train_step(state, {"index": jnp.arange(2)}, config=config)
    config.loss.level_weights, config.loss.shift_grams = (), ()
    plain, _ = texture_net.texture_loss(
        config, state.params, {k: state.model_state[k] for k in ("feature_params",
                                                                 "target_grams")},
        texture_net.draw_noise(texture_net.build_model(config), state.rng, jnp.arange(2),
                               config.data.patch_size, config.data.patch_size))
    np.testing.assert_allclose(metrics["gram_distance"],
                               float(plain) / len(state.model_state["target_grams"]), rtol=1e-5)
    assert abs(float(metrics["loss"]) - float(plain)) > 1e-3 * float(plain)


def test_shifted_gram_matrix_pairs_positions_shift_apart():
    f = np.random.default_rng(3).normal(size=(2, 7, 9, 4)).astype(np.float32)
    for axis, k in ((1, 2), (2, 3), (1, 0)):
        a = np.take(f, np.arange(f.shape[axis] - k), axis=axis)
        b = np.take(f, np.arange(k, f.shape[axis]), axis=axis)
        want = np.einsum("bhwi,bhwj->bij", a.astype(np.float64), b) / (a.shape[1] * a.shape[2])
        np.testing.assert_allclose(shifted_gram_matrix(jnp.asarray(f), axis, k), want,
                                   rtol=1e-5, atol=1e-6)
    got = shifted_gram_matrix(jnp.asarray(f), 2, 3)[0]
    assert not np.allclose(got, got.T, atol=1e-3)  # not symmetric: which comes first matters


def test_shift_terms_keep_the_coarse_maps_a_distance_divides():
    extractor = _extractor((0, 1, 2, 3))  # strides 1, 2, 4, 8
    levels = pyramid_layers(extractor, 64, (128, 128), 2)  # level 1 (32 px): scale0..2
    assert pyramid.term_strides(levels) == [1, 2, 4, 8, 2, 4, 8]
    assert pyramid.term_levels(levels) == [0, 0, 0, 0, 1, 1, 1]
    terms = pyramid.shift_terms(levels, 64, (8,))
    # stride >= 4 dividing 8, at most half the map: level 0 scale2 (map 12: 2 px) and scale3
    # (map 4: 1 px), level 1 scale1 (stride 4, map 12: 2 px) and scale2 (stride 8, map 4:
    # 1 px); each down and right
    assert terms == [(2, 1, 2), (2, 2, 2), (3, 1, 1), (3, 2, 1), (5, 1, 2), (5, 2, 2),
                     (6, 1, 1), (6, 2, 1)]
    assert pyramid.shift_terms(levels, 64, (32,)) == []  # 8 px of a 12 px map: over half
    assert pyramid.shift_terms(levels, 64, ()) == []
    assert pyramid.shift_terms(levels, 64, (6,)) == []  # no stride >= 4 divides 6


def test_shift_targets_are_the_pooled_exemplars_shifted_grams():
    rng = np.random.default_rng(4)
    exemplar = rng.uniform(size=(96, 80, 3)).astype(np.float32)
    extractor = _extractor((0, 1, 2))
    levels = pyramid_layers(extractor, 64, exemplar.shape[:2], 2)
    terms = pyramid.shift_terms(levels, 64, (8,))
    assert terms  # level 0 scale2 and level 1 scale1, scale2
    targets = pyramid.pyramid_shift_grams(levels, terms, exemplar)
    features = []
    for p, layers in levels:
        features += layers(_numpy_pool(exemplar[None], 2 ** p))
    for (i, axis, k), t in zip(terms, targets):
        f = np.asarray(features[i], np.float64)
        a = np.take(f, np.arange(f.shape[axis] - k), axis=axis)
        b = np.take(f, np.arange(k, f.shape[axis]), axis=axis)
        want = np.einsum("bhwi,bhwj->ij", a, b) / (a.shape[1] * a.shape[2])
        np.testing.assert_allclose(t, want, rtol=1e-4, atol=1e-6)


def test_shift_grams_add_terms_to_the_loss_and_the_state():
    config, state, noises = _tiny_state(pyramid=2)
    plain = _loss(config, state, noises)
    assert "shift_grams" not in state.model_state  # off: the state is as it was
    config, state, noises = _tiny_state(pyramid=2, shift_grams=(8,))
    terms = texture_net.shift_terms(config)
    assert len(state.model_state["shift_grams"]) == len(terms) > 0
    np.testing.assert_allclose(_loss(config, state, noises, None) > plain, True)
    # each shifted term, weighted like its level: level weights (1, 0) drop level 1's
    weights = texture_net.term_weights(config)
    assert len(weights) == len(state.model_state["target_grams"]) + len(terms)
    config.loss.level_weights = (1.0, 0.0)
    levels = pyramid.term_levels(texture_net.loss_terms(config))
    want = [1.0 if levels[i] == 0 else 0.0 for i, _, _ in terms]
    assert [float(w) for w in texture_net.term_weights(config)[len(levels):]] == want


def test_random_layer_strides():
    assert _extractor((0, 2, 4)).layer_strides == (1, 4, 16)


def test_the_brick_configs_use_the_options():
    """The full config's loss as its docstring says (half-scale exemplar, the extremes feature
    pyramid, two pyramid levels, random shifts; no shifted Grams, weights or ramp), and the
    :tiny variant runs the same kinds of terms at its size."""
    for variant in ("", ":tiny"):
        config = load_config(f"{CONFIGS}/texture_net_brick.py{variant}")
        assert config.data.exemplar_scale == 0.5 and config.features.pooling == "extremes"
        assert texture_net.pyramid_levels(config) == 2 and texture_net.random_shift(config)
        assert not texture_net.shift_terms(config)
        assert set(float(w) for w in texture_net.term_weights(config, 0)) == {1.0}


def test_exemplar_scale_resizes_the_exemplar_and_1_leaves_it():
    image, _ = load_exemplar("brick")  # 512 x 512
    half = scale_exemplar(image, 0.5)
    assert half.shape == (256, 256, 3) and half.dtype == np.float32
    assert scale_exemplar(image[..., :1], 0.5).shape == (256, 256, 1)
    assert scale_exemplar(image, 1.0) is image
    # antialiased: close to the 2x2 block means, not every other pixel
    blocks = _numpy_pool(image[None], 2)[0]
    assert np.abs(half - blocks).mean() < 0.5 * np.abs(image[::2, ::2] - blocks).mean()
    with pytest.raises(UserError, match="exemplar_scale"):
        scale_exemplar(image, 0.0)


def test_the_loss_and_the_evaluation_use_the_scaled_exemplar():
    from jresgen import data as datasets
    config = load_config(f"{CONFIGS}/texture_net_brick.py:tiny")
    with config.unlocked():
        del config.data["exemplar_scale"]  # a config without the key: the exemplar as it is
    assert texture_net._exemplar(config)[0].shape == (512, 512, 3)
    config = load_config(f"{CONFIGS}/texture_net_brick.py:tiny")
    config.data.exemplar_scale = 0.25
    exemplar = texture_net._exemplar(config)[0]
    assert exemplar.shape == (128, 128, 3)
    _, eval_data = datasets.build(config)
    np.testing.assert_array_equal(eval_data["exemplar"], exemplar)
    _, targets = texture_net.feature_statistics(config)
    want = pyramid_grams(texture_net.loss_terms(config), exemplar)
    for got, t in zip(targets, want):  # atol: entries ~1e-9 of the largest differ in ulps
        np.testing.assert_allclose(got, t, rtol=1e-5, atol=1e-7 * float(np.abs(t).max()))


def test_random_shift_rolls_the_outputs_before_the_loss():
    """loss.random_shift: each sample's output is rolled by its own offset (drawn from the
    state's key and its index) before the features; the circular net's outputs tile, so the
    roll moves the same texture. Off, the step is as it was; with zero padding it is an error."""
    config, state, noises = _tiny_state(pyramid=1)
    size = config.data.patch_size
    indices = jnp.arange(2)
    shifts = texture_net.draw_shifts(state.rng, indices, size, size)
    assert shifts.shape == (2, 2) and bool(jnp.all((shifts >= 0) & (shifts < size)))
    np.testing.assert_array_equal(shifts, texture_net.draw_shifts(state.rng, indices, size, size))
    loss, (images, _) = texture_net._loss_and_distance(config, state.params, state.model_state,
                                                       noises, None, shifts)
    unrolled, (plain, _) = texture_net._loss_and_distance(config, state.params,
                                                          state.model_state, noises, None)
    rolled = np.stack([np.roll(np.asarray(im), tuple(np.asarray(s)), axis=(0, 1))
                       for im, s in zip(plain, shifts)])
    np.testing.assert_allclose(np.asarray(images), rolled, atol=1e-6)
    assert float(loss) != float(unrolled)  # the features see the rolled texture
    config.loss.random_shift = True
    assert texture_net.random_shift(config)
    config.model.padding = "SAME"
    with pytest.raises(UserError, match="random_shift needs model.padding='CIRCULAR'"):
        texture_net.random_shift(config)


def test_a_config_rejected_at_init_leaves_no_work_directory(tmp_path, capsys):
    """A bad option that only the task's init can judge (here random_shift without circular
    padding) is one line and exit 2, and the new work directory is removed again; an existing
    one is left as it was."""
    from jresgen.cli import main
    config = f"{CONFIGS}/texture_net_brick.py:tiny"
    work = tmp_path / "run"
    argv = ["train", "--config", config, "--workdir", str(work), "--config.model.padding=SAME"]
    assert main(argv) == 2
    assert "random_shift needs model.padding='CIRCULAR'" in capsys.readouterr().err
    assert not work.exists()
    work.mkdir()
    (work / "notes.txt").write_text("mine")
    assert main(argv) == 2
    assert (work / "notes.txt").read_text() == "mine"
