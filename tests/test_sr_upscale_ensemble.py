"""Upscaling folders, the x8 self-ensemble, and eval's degradation panel, through the CLI on a
tiny work directory trained with the "random" degradation (sr_x2_real:tiny)."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS
from jresgen.cli import main
from jresgen.data.degradation_panel import PANEL
from jresgen.data.sr import dihedral, undo_dihedral
from jresgen.tasks.sr import DIHEDRAL, self_ensemble

TINY_REAL = f"{CONFIGS / 'sr_x2_real.py'}:tiny"


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sr_real")
    assert main(["train", "--config", TINY_REAL, "--workdir", str(workdir)]) == 0
    return workdir


def _nearest_x2(image):
    return image.repeat(2, axis=0).repeat(2, axis=1)


def test_ensemble_of_an_equivariant_op_is_the_op():
    lr = np.random.default_rng(0).uniform(size=(5, 7, 3))
    assert len(set(DIHEDRAL)) == 8
    views = {dihedral(lr, *g).tobytes() for g in DIHEDRAL}
    assert len(views) == 8  # eight different images
    for g in DIHEDRAL:
        np.testing.assert_array_equal(undo_dihedral(dihedral(lr, *g), *g), lr)
    np.testing.assert_allclose(self_ensemble(_nearest_x2, lr), _nearest_x2(lr), atol=1e-12)


def test_ensemble_maps_each_output_back():
    # An op that is not equivariant (it shifts by one pixel) is averaged over its eight
    # mirrored versions: every output keeps the input's shape and orientation.
    lr = np.random.default_rng(0).uniform(size=(6, 4, 3))
    shifted = self_ensemble(lambda x: _nearest_x2(np.roll(x, 1, axis=1)), lr)
    assert shifted.shape == (12, 8, 3)
    assert not np.allclose(shifted, _nearest_x2(lr))
    # Averaging a left and a right shift with the vertical shifts: the mean is preserved.
    np.testing.assert_allclose(shifted.mean(), lr.mean(), atol=1e-12)


def _write_images(folder, sizes):
    folder.mkdir()
    rng = np.random.default_rng(0)
    for name, (w, h) in sizes.items():
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(folder / name)


def test_upscale_a_folder(capsys, tmp_path, workdir):
    src, dst = tmp_path / "in", tmp_path / "out"
    _write_images(src, {"a.png": (20, 12), "b.jpg": (9, 15)})
    (src / "notes.txt").write_text("not an image")
    (src / "broken.png").write_bytes(b"\x89PNG nope")
    assert main(["upscale", "--workdir", str(workdir), str(src), str(dst)]) == 0
    assert sorted(p.name for p in dst.iterdir()) == ["a.png", "b.jpg"]
    with Image.open(dst / "a.png") as a, Image.open(dst / "b.jpg") as b:
        assert a.size == (40, 24) and b.size == (18, 30)
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "skipped 2 unreadable" in err[0], err
    assert "broken.png" in err[0] and "notes.txt" in err[0]


@pytest.mark.parametrize("setup,match", [
    ("empty", "holds no files"),
    ("unreadable", "skipped 1 unreadable file(s)"),
    ("same", "must differ from the input folder"),
])
def test_upscale_folder_mistakes(capsys, tmp_path, workdir, setup, match):
    src = tmp_path / "in"
    src.mkdir()
    if setup == "unreadable":
        (src / "x.png").write_bytes(b"nope")
    elif setup == "same":
        Image.new("RGB", (8, 8)).save(src / "x.png")
    dst = src if setup == "same" else tmp_path / "out"
    code = main(["upscale", "--workdir", str(workdir), str(src), str(dst)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and match in err, err


def test_ensemble_upscale_is_the_mean_of_the_eight(tmp_path, workdir):
    from jresgen.train.loop import load_workdir
    from jresgen.data.resize import to_uint8
    src = tmp_path / "in.png"
    pixels = np.random.default_rng(3).integers(0, 256, (14, 18, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(src)
    assert main(["upscale", "--workdir", str(workdir), "--ensemble", str(src),
                 str(tmp_path / "ens.png")]) == 0
    config, task, state, _ = load_workdir(workdir)
    plain = task.upscaler(config, state)
    lr = pixels / np.float32(255)
    views = [undo_dihedral(plain(np.ascontiguousarray(dihedral(lr, *g))), *g) for g in DIHEDRAL]
    expected = to_uint8(np.clip(np.mean(views, axis=0), 0, 1))
    with Image.open(tmp_path / "ens.png") as out:
        np.testing.assert_allclose(np.asarray(out, np.int32), expected, atol=1)


def test_eval_json_has_the_panel(capsys, workdir):
    assert main(["eval", "--workdir", str(workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"psnr_y", "ssim_y", "psnr_rgb"}
    assert {"step", "mean", "images"} <= set(out)
    assert set(out["degradations"]) == set(PANEL)
    for means in out["degradations"].values():
        assert set(means) == {"model", "bicubic"} and all(set(v) == keys for v in means.values())
    # The panel's "bicubic" entry is the training protocol that "mean" reports.
    assert out["degradations"]["bicubic"] == out["mean"]
    assert set(out["degradation_images"]["area"]) == {"chelsea"}


def test_eval_table_shows_each_degradation(capsys, workdir):
    assert main(["eval", "--workdir", str(workdir)]) == 0
    text = capsys.readouterr().out
    assert all(f"\n{name} " in text for name in PANEL) and "panel mean gain" in text
