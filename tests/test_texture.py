"""Texture synthesis by optimisation (jresgen texture) and feed-forward texture networks."""
import jax
import numpy as np
import pytest

from conftest import CONFIGS, losses_on_one_batch
from jresgen.cli import main
from jresgen.errors import UserError
from jresgen.models.features import default_features_config
from jresgen.texture.options import SynthesisOptions
from jresgen.texture.synthesis import check_size, distances, synthesize


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation(cheap_compilation):
    """These tests pay for compilation, not numerics."""


def _small_features():
    cfg = default_features_config()
    cfg.layers = (0, 1)  # scale0, scale1: images from 10 pixels a side
    return cfg


def _stripes(h=64, w=64):
    """A colour exemplar with structure: diagonal stripes plus a little noise."""
    y, x = np.mgrid[0:h, 0:w]
    stripes = 0.5 + 0.4 * np.sin((x + y) / 3.0)
    rng = np.random.default_rng(0)
    image = np.stack([stripes, 1 - stripes, 0.5 * np.ones_like(stripes)], -1)
    return np.clip(image + 0.05 * rng.normal(size=image.shape), 0, 1).astype(np.float32)


@pytest.mark.parametrize("size", [(40, 36)])
def test_synthesis_reduces_the_gram_distance_at_any_size(size):
    exemplar = _stripes()
    options = SynthesisOptions(steps=24, levels=2, chunk=12,
                               features=_small_features())
    texture, report = synthesize(exemplar, size, seed=0, options=options)
    assert texture.shape == size + (3,) and report["levels"] == 2
    assert texture.min() >= 0 and texture.max() <= 1
    d = distances(exemplar, texture, _small_features())
    assert d["gram_distance"] < 0.3 * d["gram_distance_noise"]
    again, _ = synthesize(exemplar, size, seed=0, options=options)
    np.testing.assert_allclose(again, texture, atol=1e-5)  # deterministic per seed


def test_grayscale_exemplar_gives_one_channel():
    exemplar = np.repeat(_stripes()[..., :1], 3, -1)
    options = SynthesisOptions(steps=4, levels=1, chunk=2, features=_small_features())
    texture, _ = synthesize(exemplar, (24, 24), options=options, grayscale=True)
    assert texture.shape == (24, 24, 1)


def test_impossible_sizes_are_user_errors():
    for size in [(8, 64), (64, 5000), (3000, 3000)]:
        with pytest.raises(UserError, match="not possible"):
            check_size(size)
    assert check_size((16, 4096)) == (16, 4096)


def test_texture_cli_errors_are_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_bytes(b"no image")
    cases = [
        (["--exemplar", str(bad), str(tmp_path / "o.png")], "cannot read"),
        (["--exemplar", str(tmp_path / "none.png"), str(tmp_path / "o.png")],
         "neither an image file nor a built-in image"),
        (["--exemplar", "nosuchname", str(tmp_path / "o.png")], "(brick, grass, gravel,"),
        (["--exemplar", "brick", "--size", "abc", str(tmp_path / "o.png")], "size must look"),
        (["--exemplar", "brick", "--size", "0x0", str(tmp_path / "o.png")], "between"),
        (["--exemplar", "brick", "--size", "8000x8000", str(tmp_path / "o.png")],
         "not possible"),
        (["--exemplar", "brick", str(tmp_path / "missing" / "o.png")], "does not exist"),
        (["--exemplar", "brick", "--steps", "0", str(tmp_path / "o.png")], "positive"),
    ]
    for args, message in cases:
        assert main(["texture", *args]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("jresgen: error:") and message in err and "\n" not in err


def test_texture_cli_writes_grayscale_png(tmp_path, capsys, monkeypatch):
    from PIL import Image

    from jresgen import cli_texture
    monkeypatch.setattr(cli_texture, "DEFAULTS", SynthesisOptions(features=_small_features()))
    src = tmp_path / "ex.png"
    Image.fromarray((_stripes()[..., 0] * 255).astype(np.uint8), mode="L").save(src)
    out = tmp_path / "tex.png"
    assert main(["texture", "--exemplar", str(src), "--size", "24x40", "--steps", "4",
                 "--levels", "1", str(out)]) == 0
    with Image.open(out) as img:
        assert img.mode == "L" and img.size == (40, 24)
    assert "floor" in capsys.readouterr().out


# --- feed-forward texture networks ------------------------------------------------------

def _tiny_config():
    from jresgen.config import load_config
    return load_config(f"{CONFIGS / 'texture_net_brick.py'}:tiny")


def test_texture_net_any_size_and_grayscale():
    from jresgen.models.texture import TextureNet, generate, sample_noise
    model = TextureNet(scales=3, features=4, channels=1)
    variables = model.init(jax.random.PRNGKey(0), sample_noise(model, jax.random.PRNGKey(1),
                                                                1, 16, 16))
    for h, w in [(20, 36), (7, 5)]:
        out = generate(model, variables, jax.random.PRNGKey(2), 2, h, w)
        assert out.shape == (2, h, w, 1)
        assert float(out.min()) >= 0 and float(out.max()) <= 1


def _shapes(variables):
    return jax.tree_util.tree_map(lambda x: x.shape, variables)


def test_texture_net_per_scale_features_and_blocks_any_size():
    """model.features and model.blocks may be one per scale (finest first): wider and deeper
    coarse scales, the same outputs at any size."""
    from jresgen.models.texture import TextureNet, generate, sample_noise
    model = TextureNet(scales=3, features=(4, 6, 8), blocks=(1, 2, 1), channels=1)
    variables = model.init(jax.random.PRNGKey(0), sample_noise(model, jax.random.PRNGKey(1),
                                                                1, 16, 16))
    params = variables["params"]
    assert params["noise_conv_2"]["kernel"].shape == (3, 3, 3, 8)
    assert {"noise_block_1_1", "join_block_1_1", "noise_block_2_0", "join_block_0_0"} <= set(
        params) and not {"noise_block_2_1", "join_block_0_1"} & set(params)
    assert params["join_block_1_0"]["conv1"]["kernel"].shape == (3, 3, 8 + 6, 6)
    assert params["join_block_0_0"]["conv1"]["kernel"].shape == (3, 3, 6 + 4, 4)
    for h, w in [(20, 36), (7, 5), (64, 16)]:
        out = generate(model, variables, jax.random.PRNGKey(2), 2, h, w)
        assert out.shape == (2, h, w, 1)
        assert float(out.min()) >= 0 and float(out.max()) <= 1


def test_texture_net_one_number_per_scale_is_the_default_net():
    """A config's int features / blocks build the net they always did: the same parameters,
    and a per-scale list of equal values builds that same tree."""
    from jresgen.models.texture import build, sample_noise
    config = _tiny_config()
    plain = build(config.model, 1)
    assert (plain.features, plain.blocks) == (8, 1)
    noise = sample_noise(plain, jax.random.PRNGKey(1), 1, 16, 16)
    plain_vars = plain.init(jax.random.PRNGKey(0), noise)
    config.model.unlock()
    del config.model["features"], config.model["blocks"]
    config.model.features, config.model.blocks = [8, 8, 8], (1, 1, 1)
    listed = build(config.model, 1)
    assert listed.features == (8, 8, 8)
    listed_vars = listed.init(jax.random.PRNGKey(0), noise)
    assert _shapes(listed_vars) == _shapes(plain_vars)
    np.testing.assert_array_equal(listed.apply(listed_vars, noise),
                                  plain.apply(plain_vars, noise))


@pytest.mark.parametrize("key,value,match", [
    ("features", (8, 8), "2 values for model.scales=3"),
    ("features", (8, 0, 8), "integers >= 1"),
    ("features", 0, "integers >= 1"),
    ("blocks", (1, -1, 1), "integers >= 0"),
    ("blocks", (1, 1, 1, 1), "4 values for model.scales=3"),
    ("features", (8, 8.5, 8), "integers >= 1"),
    ("features", 8.0, "an integer or a list"),
])
def test_texture_net_bad_per_scale_values_are_user_errors(key, value, match):
    from jresgen.models.texture import build
    config = _tiny_config()
    config.model.unlock()
    del config.model[key]
    config.model[key] = value
    with pytest.raises(UserError, match=match):
        build(config.model, 1)


def test_texture_net_loss_goes_down():
    config = _tiny_config()
    config.learning_rate = 1e-2
    losses = losses_on_one_batch(config, 15)
    assert np.isfinite(losses).all() and losses[-1] < 0.8 * losses[0]


@pytest.mark.slow  # the whole CLI round trip: train, eval --json, sample --size
def test_texture_net_train_sample_eval(tmp_path, capsys):
    import json
    work = tmp_path / "run"
    assert main(["train", "--config", f"{CONFIGS / 'texture_net_brick.py'}:tiny",
                 "--workdir", str(work)]) == 0
    assert (work / "samples" / "textures.png").exists()
    capsys.readouterr()
    assert main(["eval", "--workdir", str(work), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert {"gram_distance", "gram_distance_floor", "gram_distance_noise"} <= set(summary)
    from PIL import Image
    out = tmp_path / "big.png"
    assert main(["sample", "--workdir", str(work), "--size", "40x72", str(out)]) == 0
    with Image.open(out) as img:
        assert img.mode == "L" and img.size == (72, 40)  # brick is grayscale
    assert main(["sample", "--workdir", str(work), "--class", "1", str(out)]) == 2
    assert "unconditional" in capsys.readouterr().err


def test_texture_net_samples_any_size_and_refuses_a_class():
    import functools

    from jresgen import data as datasets
    from jresgen.tasks import texture_net
    from jresgen.train.optim import make_optimizer
    config = _tiny_config()
    source, eval_data = datasets.build(config)
    assert eval_data["grayscale"] and source.batch(1)["index"].tolist() == [4, 5, 6, 7]
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate, 10)
    state = texture_net.init_state(config, jax.random.PRNGKey(0), source.batch(0), make_tx)
    images, labels = texture_net.sample_images(config, state, 3, seed=1, size=(40, 72))
    assert images.shape == (3, 40, 72, 1) and labels is None
    again, _ = texture_net.sample_images(config, state, 1, seed=1, size=(40, 72))
    # sample k depends on (seed, k), not on the batch: equal up to the float32 rounding of
    # convolutions XLA tiles differently per batch size (seen: 1.3e-6), far from another draw
    np.testing.assert_allclose(again[0], images[0], atol=1e-5)
    other, _ = texture_net.sample_images(config, state, 1, seed=2, size=(40, 72))
    assert np.abs(other[0] - images[0]).max() > 1e-2
    with pytest.raises(UserError, match="unconditional"):
        texture_net.sample_images(config, state, 1, seed=1, label=0)
