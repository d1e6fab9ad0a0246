"""Feature extractors (random multi-scale, VGG-19 from a file) and Gram statistics."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jresgen.errors import UserError
from jresgen.metrics.gram import (gram_distance, gram_loss, gram_matrix, inverse_norm_weights,
                                  mean_std)
from jresgen.models.features import (VGG19_CONVS, VGG19_WIDTHS, build_feature_extractor,
                                     default_features_config, vgg19_layer_names)


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype(np.float32)


def test_gram_matrix_against_numpy():
    f = np.random.default_rng(1).normal(size=(2, 5, 7, 4)).astype(np.float32)
    expected = np.stack([fb.reshape(-1, 4).T @ fb.reshape(-1, 4) / 35.0 for fb in f])
    np.testing.assert_allclose(np.asarray(gram_matrix(jnp.asarray(f))), expected, rtol=1e-5)


def test_mean_std_against_numpy():
    f = np.random.default_rng(2).normal(size=(3, 4, 6, 5)).astype(np.float32)
    mean, std = mean_std(jnp.asarray(f), eps=0.0)
    np.testing.assert_allclose(np.asarray(mean), f.mean(axis=(1, 2)), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(np.asarray(std), f.std(axis=(1, 2)), rtol=1e-5)


def test_gram_loss_and_distance_against_numpy():
    rng = np.random.default_rng(3)
    feats = [rng.normal(size=(2, 4, 4, 3)).astype(np.float32),
             rng.normal(size=(2, 2, 2, 6)).astype(np.float32)]
    targets = [rng.normal(size=(3, 3)).astype(np.float32),
               rng.normal(size=(6, 6)).astype(np.float32)]
    grams = [np.stack([fb.reshape(-1, fb.shape[-1]).T @ fb.reshape(-1, fb.shape[-1])
                       / (fb.shape[0] * fb.shape[1]) for fb in f]) for f in feats]
    terms = [np.mean((g - t) ** 2) for g, t in zip(grams, targets)]
    np.testing.assert_allclose(float(gram_loss(feats, targets)), sum(terms), rtol=1e-5)
    np.testing.assert_allclose(float(gram_loss(feats, targets, [2.0, 0.5])),
                               2 * terms[0] + 0.5 * terms[1], rtol=1e-5)
    relative = [term / np.mean(t ** 2) for term, t in zip(terms, targets)]
    np.testing.assert_allclose(float(gram_distance(feats, targets)), np.mean(relative), rtol=1e-5)
    assert len(inverse_norm_weights(targets)) == 2
    # identical statistics -> zero distance
    assert float(gram_distance(feats, [gram_matrix(jnp.asarray(f)) for f in feats])) < 1e-10


def test_random_features_shapes_and_determinism():
    images = _images((2, 80, 96, 3))
    extractor = build_feature_extractor(default_features_config())
    feats = extractor(images)
    assert extractor.layer_names == ("scale0", "scale1", "scale2", "scale3", "scale4")
    assert [f.shape[1:3] for f in feats] == [(76, 92), (36, 44), (16, 20), (6, 8), (1, 2)]
    again = build_feature_extractor(default_features_config())(images)
    for a, b in zip(feats, again):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    cfg = default_features_config()
    cfg.seed = 1
    other = build_feature_extractor(cfg)(images)
    assert not np.allclose(np.asarray(feats[0]), np.asarray(other[0]))


def _numpy_conv_valid(x, kernel):
    """[H, W, I] * [k, k, I, O] -> [H-k+1, W-k+1, O], cross-correlation as XLA's conv."""
    k = kernel.shape[0]
    h, w = x.shape[0] - k + 1, x.shape[1] - k + 1
    out = np.zeros((h, w, kernel.shape[3]))
    for i in range(k):
        for j in range(k):
            out += x[i:i + h, j:j + w] @ kernel[i, j]
    return out


def test_extremes_pooling_against_numpy():
    """features.pooling='extremes': scale s filters the image's 2^s x 2^s block maxima and
    minima (6 channels), so a thin bright or dark line keeps its full contrast at every scale,
    where the average pyramid washes it out."""
    cfg = default_features_config()
    cfg.pooling, cfg.layers = "extremes", ("scale0", "scale2")
    extractor = build_feature_extractor(cfg)
    image = _images((1, 22, 25, 3), seed=4)
    feats = extractor(image)
    x = image[0].astype(np.float64) - 0.5
    crop = x[:20, :24].reshape(5, 4, 6, 4, 3)  # 4x4 blocks (an odd last row / column drops)
    for name, f, pyramid in [("scale0", feats[0], np.concatenate([x, x], -1)),
                             ("scale2", feats[1], np.concatenate([crop.max((1, 3)),
                                                                  crop.min((1, 3))], -1))]:
        kernel = np.asarray(extractor.params[name]["kernel"], np.float64)
        assert kernel.shape == (5, 5, 6, 128)
        want = np.maximum(_numpy_conv_valid(pyramid, kernel), 0.0)
        np.testing.assert_allclose(np.asarray(f[0]), want, rtol=1e-4, atol=1e-4)
    line = np.full((1, 80, 80, 3), 0.3, np.float32)
    line[:, :, 40] = 0.9  # one light column, one pixel wide
    average, extremes = default_features_config(), default_features_config()
    extremes.pooling = "extremes"
    plain = [build_feature_extractor(c)(line)[-1] for c in (average, extremes)]
    flat = [build_feature_extractor(c)(np.full_like(line, 0.3))[-1] for c in (average, extremes)]
    # how far the coarsest features move when the line is added: far more with extremes
    moved = [float(np.abs(np.asarray(p) - np.asarray(f)).mean()) for p, f in zip(plain, flat)]
    assert moved[1] > 3 * moved[0]


def test_average_pooling_is_the_default_and_bad_pooling_is_an_error():
    images = _images((1, 80, 80, 3))
    cfg = default_features_config()
    default = build_feature_extractor(cfg)(images)
    cfg.pooling = "average"
    for a, b in zip(default, build_feature_extractor(cfg)(images)):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    cfg.pooling = "median"
    with pytest.raises(UserError, match="features.pooling must be one of average, extremes"):
        build_feature_extractor(cfg)


def test_random_features_layer_selection_jit_and_gradient():
    cfg = default_features_config()
    cfg.layers = (0, "scale2")
    extractor = build_feature_extractor(cfg)
    assert extractor.layer_names == ("scale0", "scale2") and extractor.min_size == 20
    images = jnp.asarray(_images((1, 24, 24, 3)))
    target = [gram_matrix(f) for f in extractor(_images((1, 24, 24, 3), seed=5))]
    loss = jax.jit(lambda p, x: gram_loss(extractor.apply(p, x), target))
    grad = jax.grad(loss, argnums=1)(extractor.params, images)
    assert grad.shape == images.shape and np.all(np.isfinite(np.asarray(grad)))
    assert float(jnp.abs(grad).sum()) > 0
    # grayscale input is three equal channels
    gray = images[..., :1]
    for a, b in zip(extractor(gray), extractor(jnp.repeat(gray, 3, -1))):
        np.testing.assert_allclose(np.asarray(a), np.asarray(b), rtol=1e-6)


def test_random_features_reject_small_image_and_bad_layers():
    extractor = build_feature_extractor(default_features_config())
    with pytest.raises(UserError, match="too small"):
        extractor(_images((1, 40, 40, 3)))
    cfg = default_features_config()
    cfg.layers = ("scale9",)
    with pytest.raises(UserError, match="unknown random feature layer"):
        build_feature_extractor(cfg)
    cfg = default_features_config()
    cfg.kind = "resnet"
    with pytest.raises(UserError, match="unknown features.kind"):
        build_feature_extractor(cfg)


def _write_vgg(path, widths=VGG19_WIDTHS, skip=None, seed=0):
    rng = np.random.default_rng(seed)
    arrays, channels = {}, 3
    for name in VGG19_CONVS:
        out = widths[int(name[4]) - 1]
        if name != skip:
            arrays[f"{name}/kernel"] = (rng.normal(size=(3, 3, channels, out))
                                        * np.sqrt(2 / (9 * channels))).astype(np.float32)
            arrays[f"{name}/bias"] = np.zeros(out, np.float32)
        channels = out
    np.savez(path, **arrays)
    return path


def _vgg_config(path, layers=()):
    cfg = default_features_config("vgg19")
    cfg.weights, cfg.layers = str(path), layers
    return cfg


def test_vgg19_loads_full_shapes(tmp_path):
    path = _write_vgg(tmp_path / "vgg19.npz")
    extractor = build_feature_extractor(_vgg_config(path))
    assert extractor.layer_names == ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
    assert extractor.params["conv5_1"]["kernel"].shape == (3, 3, 512, 512)
    assert "conv5_2" not in extractor.params  # layers past the last one asked for are not kept
    feats = extractor(_images((1, 32, 48, 3)))
    assert [f.shape for f in feats] == [(1, 32, 48, 64), (1, 16, 24, 128), (1, 8, 12, 256),
                                        (1, 4, 6, 512), (1, 2, 3, 512)]
    assert len(vgg19_layer_names()) == 16 * 2 + 5


def test_vgg19_matches_numpy_first_layer(tmp_path):
    path = _write_vgg(tmp_path / "narrow.npz", widths=(4, 4, 8, 8, 8))
    extractor = build_feature_extractor(_vgg_config(path, ("conv1_1", "relu1_2", "pool1")))
    images = _images((1, 6, 6, 3))
    conv, relu, pool = extractor(images)
    with np.load(path) as w:
        kernel, bias = w["conv1_1/kernel"], w["conv1_1/bias"]
    x = (images[0] - np.array([0.485, 0.456, 0.406])) / np.array([0.229, 0.224, 0.225])
    padded = np.pad(x, ((1, 1), (1, 1), (0, 0)))
    expected = np.zeros((6, 6, 4))
    for i in range(6):
        for j in range(6):
            expected[i, j] = np.einsum("hwc,hwco->o", padded[i:i + 3, j:j + 3], kernel) + bias
    np.testing.assert_allclose(np.asarray(conv[0]), expected, rtol=1e-4, atol=1e-4)
    expected_pool = np.asarray(relu[0]).reshape(3, 2, 3, 2, 4).max(axis=(1, 3))
    np.testing.assert_allclose(np.asarray(pool[0]), expected_pool, rtol=1e-4, atol=1e-4)


def test_vgg19_bad_weights_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="needs features.weights"):
        build_feature_extractor(_vgg_config(""))
    with pytest.raises(UserError, match="not found"):
        build_feature_extractor(_vgg_config(tmp_path / "missing.npz"))
    garbage = tmp_path / "garbage.npz"
    garbage.write_bytes(b"not a zip file")
    with pytest.raises(UserError, match="cannot read VGG-19 weights"):
        build_feature_extractor(_vgg_config(garbage))
    with pytest.raises(UserError, match="lack conv3_2/kernel"):
        build_feature_extractor(_vgg_config(_write_vgg(tmp_path / "a.npz", (4, 4, 8, 8, 8),
                                                       skip="conv3_2")))
    bad = dict(np.load(_write_vgg(tmp_path / "b.npz", (4, 4, 8, 8, 8))))
    bad["conv2_1/kernel"] = bad["conv2_1/kernel"].transpose(3, 2, 0, 1)  # OIHW, not HWIO
    np.savez(tmp_path / "oihw.npz", **bad)
    with pytest.raises(UserError, match="conv2_1/kernel has shape"):
        build_feature_extractor(_vgg_config(tmp_path / "oihw.npz"))


def test_periodic_features_are_equivariant_to_circular_shifts():
    cfg = default_features_config()
    cfg.layers = (0, 1)
    extractor = build_feature_extractor(cfg)
    images = jnp.asarray(_images((1, 24, 32, 3)))
    plain = extractor.apply(extractor.params, images, periodic=True)
    rolled = extractor.apply(extractor.params, jnp.roll(images, (6, -4), axis=(1, 2)),
                             periodic=True)
    assert [f.shape[1:3] for f in plain] == [(24, 32), (12, 16)]
    np.testing.assert_allclose(np.asarray(jnp.roll(plain[0], (6, -4), axis=(1, 2))),
                               np.asarray(rolled[0]), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(np.asarray(jnp.roll(plain[1], (3, -2), axis=(1, 2))),
                               np.asarray(rolled[1]), rtol=1e-5, atol=1e-5)
