"""Fast style transfer: TransformerNet's layout and shapes, reflection-padded blocks, the loss,
a :tiny train through the CLI, and `stylize` on files and folders."""
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import skimage.data
from PIL import Image

from conftest import CONFIGS
from jresgen.cli import main
from jresgen.nn import BasicBlock, count_params
from jresgen.models.style import TransformerNet

TINY = f"{CONFIGS / 'style_transfer.py'}:tiny"


def test_transformer_net_has_pytorch_examples_parameter_count():
    params = jax.eval_shape(TransformerNet().init, jax.random.PRNGKey(0),
                            jnp.zeros((1, 16, 16, 3)))["params"]
    # pytorch/examples fast_neural_style TransformerNet: sum(p.numel()) == 1,679,235
    assert count_params(params) == 1_679_235


@pytest.mark.parametrize("size", [(8, 8), (37, 51), (64, 48)])
def test_transformer_net_keeps_any_size(size):
    net = TransformerNet(features=(4, 8, 8), num_blocks=1)
    x = np.random.default_rng(0).random((2, *size, 3), dtype=np.float32)
    out = net.apply(net.init(jax.random.PRNGKey(0), x), x)
    assert out.shape == x.shape and np.all(np.isfinite(out))


def test_reflect_padded_block_sees_no_border():
    # A constant image stays constant through REFLECT convs; zero padding makes a frame.
    x = jnp.full((1, 9, 9, 4), 0.7)
    for padding, flat in (("REFLECT", True), ("SAME", False)):
        block = BasicBlock(4, padding=padding, use_bias=True)
        out = block.apply(block.init(jax.random.PRNGKey(1), x), x)
        assert bool(jnp.allclose(out, out[0, 4, 4], atol=1e-5)) == flat
    with pytest.raises(ValueError, match="stride-1"):
        strided = BasicBlock(4, strides=2, padding="REFLECT")
        strided.init(jax.random.PRNGKey(1), x)


def test_loss_goes_down_on_one_batch():
    from conftest import losses_on_one_batch
    from jresgen.config import load_config
    losses = losses_on_one_batch(load_config(TINY), steps=6)
    assert losses[-1] < losses[0]


@pytest.fixture(scope="module")
def style_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("style_image") / "painting.png"
    Image.fromarray(skimage.data.immunohistochemistry()[::4, ::4]).save(path)
    return path


@pytest.fixture(scope="module")
def style_workdir(tmp_path_factory, style_file):
    workdir = tmp_path_factory.mktemp("style")
    assert main(["train", "--config", TINY, "--workdir", str(workdir),
                 f"--config.style.image={style_file}"]) == 0
    return workdir


def test_state_holds_the_style_images_grams(style_workdir):
    from jresgen.tasks.style_transfer import style_statistics
    from jresgen.train.loop import load_workdir
    config, _, state, _ = load_workdir(style_workdir)
    expected = style_statistics(config)["style_grams"]
    for name, gram in state.model_state["style_grams"].items():
        np.testing.assert_allclose(gram, expected[name], rtol=1e-5, atol=1e-7)


def test_tiny_train_eval_json(capsys, style_workdir):
    capsys.readouterr()
    assert main(["eval", "--workdir", str(style_workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 4 and set(out["images"]) == {"chelsea"}
    assert {"content_loss", "style_loss", "tv_loss", "style_loss_input"} <= set(out["mean"])
    assert (style_workdir / "samples" / "chelsea.png").exists()


def test_stylize_file_and_folder(capsys, tmp_path, style_workdir):
    src = tmp_path / "in"
    src.mkdir()
    Image.fromarray(skimage.data.coffee()[:41, :57]).save(src / "odd.png")
    Image.fromarray(skimage.data.camera()[:32, :40]).save(src / "gray.png")
    rgba = np.random.default_rng(0).integers(0, 256, (20, 24, 4), dtype=np.uint8)
    Image.fromarray(rgba, "RGBA").save(src / "alpha.png")
    (src / "notes.txt").write_text("not an image")
    out = tmp_path / "out"
    assert main(["stylize", "--workdir", str(style_workdir), str(src), str(out)]) == 0
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.txt" in err
    assert sorted(p.name for p in out.iterdir()) == ["alpha.png", "gray.png", "odd.png"]
    expected = {"odd.png": ((57, 41), "RGB"), "gray.png": ((40, 32), "L"),
                "alpha.png": ((24, 20), "RGBA")}
    for name, (size, mode) in expected.items():
        with Image.open(out / name) as im:
            assert (im.size, im.mode) == (size, mode)
    with Image.open(out / "alpha.png") as im:  # alpha kept as it was
        np.testing.assert_array_equal(np.asarray(im)[..., 3], rgba[..., 3])
    single = tmp_path / "single.jpg"
    assert main(["stylize", "--workdir", str(style_workdir), str(src / "odd.png"),
                 str(single)]) == 0
    assert single.exists()


def _one_line_error(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("jresgen: error:") and match in err, err


@pytest.mark.parametrize("case,match", [("missing", "input not found"),
                                        ("not_image", "cannot read"),
                                        ("too_small", "too small to stylise"),
                                        ("other_family", "holds a 'separation' model")])
def test_stylize_bad_inputs(capsys, tmp_path, style_workdir, case, match):
    src, workdir = tmp_path / "in.png", style_workdir
    if case == "not_image":
        src.write_bytes(b"nope")
    elif case == "too_small":
        Image.new("RGB", (5, 30)).save(src)
    elif case == "other_family":
        Image.new("RGB", (16, 16)).save(src)
        workdir = tmp_path / "w"
        workdir.mkdir()
        (workdir / "config.json").write_text(json.dumps({"task": "separation"}))
    _one_line_error(capsys, ["stylize", "--workdir", str(workdir), str(src),
                             str(tmp_path / "out.png")], match)


def test_workdir_stylizes_after_its_style_file_is_gone(tmp_path, style_workdir, style_file):
    style_file.unlink()  # the last test of the module: the state carries the Gram matrices
    src = tmp_path / "in.png"
    Image.fromarray(skimage.data.chelsea()[:24, :32]).save(src)
    assert main(["stylize", "--workdir", str(style_workdir), str(src),
                 str(tmp_path / "out.png")]) == 0
