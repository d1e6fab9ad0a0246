"""Texture/structure separation: the ROF solver against scikit-image and its known properties,
the PNG pair that sums back to the input, the net's shapes, and the `separate` verb."""
import json

import jax
import numpy as np
import pytest
import skimage.data
from PIL import Image
from skimage.restoration import denoise_tv_chambolle

from conftest import CONFIGS
from jresgen.cli import main
from jresgen.data import separation_png
from jresgen.models.rof import (divergence, gradient, rof_energy, rof_structure,
                                total_variation)
from jresgen.models.separation import SeparationNet

TINY = f"{CONFIGS / 'separation_net.py'}:tiny"


@pytest.fixture(scope="module")
def photo():
    return skimage.data.chelsea()[100:164, 150:230].astype(np.float32) / 255.0  # 64x80 RGB


def test_divergence_is_the_negative_adjoint_of_the_gradient():
    rng = np.random.default_rng(0)
    u = rng.normal(size=(3, 9, 7)).astype(np.float32)
    py, px = rng.normal(size=(2, 3, 9, 7)).astype(np.float32)
    gy, gx = gradient(u)
    lhs = float(np.sum(gy * py) + np.sum(gx * px))
    assert lhs == pytest.approx(-float(np.sum(u * divergence(py, px))), rel=1e-4)


@pytest.mark.parametrize("strength", [0.05, 0.2])
def test_grayscale_solution_matches_scikit_image(strength):
    # One channel: vectorial TV is plain TV, and skimage's `weight` is the ROF lambda.
    image = skimage.data.camera()[::8, ::8].astype(np.float32) / 255.0  # 64x64
    ref = denoise_tv_chambolle(image, weight=strength, eps=1e-8, max_num_iter=3000)
    ours = np.asarray(rof_structure(image[..., None], strength, iterations=300))[..., 0]
    assert np.mean(np.abs(ours - ref)) < 3e-3
    energy = float(rof_energy(ours[..., None], image[..., None], strength))
    assert energy <= float(rof_energy(ref[..., None].astype(np.float32), image[..., None],
                                      strength)) * 1.0005


def test_known_properties(photo):
    structure = np.asarray(rof_structure(photo, 0.1))
    assert float(total_variation(structure)) < 0.6 * float(total_variation(photo))
    np.testing.assert_array_equal(np.asarray(rof_structure(photo, 0.0)), photo)  # identity
    flat = np.full((20, 30, 3), 0.3, np.float32)
    np.testing.assert_allclose(np.asarray(rof_structure(flat, 0.3)), flat, atol=1e-6)
    # the mean is kept (the data term's optimality with Neumann borders)
    assert structure.mean() == pytest.approx(photo.mean(), abs=1e-4)
    grey = np.repeat(photo.mean(-1, keepdims=True), 3, axis=-1)
    out = np.asarray(rof_structure(grey, 0.1))
    np.testing.assert_allclose(out[..., 0], out[..., 2], atol=1e-6)  # grey stays grey


@pytest.mark.parametrize("shape", [(2, 2, 1), (7, 13, 3), (2, 5, 11, 3)])
def test_solver_any_shape(shape):
    image = np.random.default_rng(1).random(shape, dtype=np.float32)
    out = rof_structure(image, 0.1, iterations=20)
    assert out.shape == shape and np.all(np.isfinite(out))


@pytest.mark.parametrize("size", [(37, 50), (8, 9), (64, 64)])
def test_net_shapes_and_identity_at_init(size):
    net = SeparationNet(features=8, num_blocks=1, levels=2)
    x = np.random.default_rng(2).random((2, *size, 3), dtype=np.float32)
    params = net.init(jax.random.PRNGKey(0), x)
    out = net.apply(params, x)
    assert out.shape == x.shape
    np.testing.assert_allclose(out, x, atol=1e-6)  # zero tail: strength 0's split


def test_png_pair_sums_back_exactly(photo):
    structure = np.asarray(rof_structure(photo, 0.2))
    base, texture, clipped = separation_png.encode(photo, structure)
    assert base.dtype == texture.dtype == np.uint8 and clipped == 0
    np.testing.assert_array_equal(separation_png.decode(base, texture),
                                  separation_png.to_levels(photo))
    # a texture beyond 127 levels saturates, and is counted
    _, _, clipped = separation_png.encode(np.ones((2, 2, 1)), np.zeros((2, 2, 1)))
    assert clipped == 4


def _one_line_error(capsys, argv, match):
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1 and err.startswith("jresgen: error:") and match in err, err


@pytest.mark.parametrize("mode", ["RGB", "L"])
def test_separate_cli_files_sum_to_input(tmp_path, mode):
    pixels = skimage.data.astronaut()[::8, ::8]
    src = tmp_path / "in.png"
    Image.fromarray(pixels).convert(mode).save(src)
    assert main(["separate", str(src), "--out-dir", str(tmp_path / "out"),
                 "--strength", "0.2", "--iterations", "50"]) == 0
    with Image.open(tmp_path / "out" / "structure.png") as s, \
            Image.open(tmp_path / "out" / "texture.png") as t, Image.open(src) as i:
        assert s.mode == t.mode == mode and s.size == i.size
        rebuilt = np.asarray(s, np.int32) + np.asarray(t, np.int32) - 128
        np.testing.assert_array_equal(rebuilt, np.asarray(i, np.int32))
        assert np.asarray(t).std() > 1  # there is texture


@pytest.fixture(scope="module")
def net_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("separation")
    assert main(["train", "--config", TINY, "--workdir", str(workdir)]) == 0
    return workdir


def test_tiny_train_eval_and_separate_with_the_net(capsys, tmp_path, net_workdir):
    capsys.readouterr()
    assert main(["eval", "--workdir", str(net_workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 4 and set(out["images"]) == {"chelsea"}
    for key in ("psnr_db", "mean_abs_error_levels", "reconstruction_max_error_levels",
                "solver_seconds", "network_seconds", "speedup"):
        assert key in out["mean"]
    assert out["mean"]["reconstruction_max_error_levels"] == 0
    src = tmp_path / "odd.png"
    Image.fromarray(skimage.data.coffee()[:45, :61]).save(src)
    assert main(["separate", str(src), "--out-dir", str(tmp_path), "--workdir",
                 str(net_workdir)]) == 0
    with Image.open(tmp_path / "structure.png") as s:
        assert s.size == (61, 45)
    _one_line_error(capsys, ["separate", str(src), "--out-dir", str(tmp_path), "--workdir",
                             str(net_workdir), "--strength", "0.3"], "trained for strength")


@pytest.mark.parametrize("case,match", [
    ("missing", "input image not found"), ("not_image", "cannot read"),
    ("negative", "strength must be a finite number >= 0"), ("word", "strength must be a number"),
    ("other_family", "holds a 'sr' model"), ("tiny_image", "at least 2x2"),
    ("out_is_file", "is not a directory")])
def test_separate_bad_inputs(capsys, tmp_path, case, match):
    good = tmp_path / "good.png"
    Image.new("RGB", (8, 8)).save(good)
    src, extra = good, []
    if case == "missing":
        src = tmp_path / "nope.png"
    elif case == "not_image":
        src = tmp_path / "bad.png"
        src.write_bytes(b"not an image")
    elif case in ("negative", "word"):
        extra = ["--strength", "-1" if case == "negative" else "abc"]
    elif case == "other_family":
        (tmp_path / "config.json").write_text(json.dumps({"task": "sr"}))
        extra = ["--workdir", str(tmp_path)]
    elif case == "tiny_image":
        src = tmp_path / "dot.png"
        Image.new("RGB", (1, 5)).save(src)
    out = tmp_path / "out"
    if case == "out_is_file":
        out.write_text("")
    _one_line_error(capsys, ["separate", str(src), "--out-dir", str(out), *extra], match)
