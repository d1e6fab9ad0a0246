"""SR on the user's image folders: `data.source = "folder"` (HR folder, or HR + LR folders)
and `jresgen eval --images HR_DIR`, on tiny images each test writes."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS, one_line_error, tiny_sr_config
from jresgen import data as datasets
from jresgen.cli import main
from jresgen.data.photos import load_photo
from jresgen.data.resize import degrade, mod_crop, to_uint8

TINY = f"{CONFIGS / 'sr_x2.py'}:tiny"


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation(cheap_compilation):
    """These tests pay for compilation, not numerics."""


def _write(folder, images: dict, mode="RGB"):
    folder.mkdir(parents=True, exist_ok=True)
    for name, pixels in images.items():
        Image.fromarray(pixels).convert(mode).save(folder / name)
    return folder


def _crops():
    """Three small HR images (one grayscale, one RGBA on disk), odd sizes on purpose."""
    astronaut = load_photo("astronaut")
    return {"a.png": astronaut[100:165, 200:251], "b.png": astronaut[300:348, 0:57],
            "c.png": load_photo("rocket")[50:99, 300:350]}




@pytest.fixture(scope="module")
def folder_workdir(tmp_path_factory):
    """A tiny model trained end to end on an HR folder (validated on a folder)."""
    root = tmp_path_factory.mktemp("folders")
    crops = _crops()
    train = _write(root / "train", {"a.png": crops["a.png"]})
    _write(train, {"b.png": crops["b.png"]}, mode="L")
    _write(train, {"c.png": crops["c.png"]}, mode="RGBA")
    (train / "notes.txt").write_text("not an image")
    valid = _write(root / "valid", {"v.png": load_photo("coffee")[:48, :40]})
    workdir = root / "run"
    assert main(["train", "--config", TINY, "--workdir", str(workdir),
                 "--config.data.source=folder", f"--config.data.train_dir={train}",
                 f"--config.data.valid_dir={valid}"]) == 0
    return workdir


def test_folder_source_trains_end_to_end(folder_workdir):
    records = [json.loads(line) for line in (folder_workdir / "metrics.jsonl").open()]
    assert records[-1]["step"] == 4 and np.isfinite(records[-1]["loss"])
    # validated on valid_dir; samples are named NAME.png, NAME being the file name
    assert (folder_workdir / "samples" / "v.png.png").exists()


def test_unreadable_training_file_is_named_on_stderr(tmp_path, capsys):
    train = _write(tmp_path / "train", _crops())
    (train / "notes.txt").write_text("not an image")
    datasets.build(tiny_sr_config(data__source="folder", data__train_dir=train))
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "notes.txt" in err, err


def test_paired_lr_folder_trains(tmp_path):
    crops = _crops()
    train = _write(tmp_path / "hr", crops)
    _write(tmp_path / "lr", {n: np.asarray(Image.fromarray(c).resize(
        (c.shape[1] // 2, c.shape[0] // 2), Image.BICUBIC)) for n, c in crops.items()})
    valid = _write(tmp_path / "valid", {"v.png": load_photo("coffee")[:48, :40]})
    assert main(["train", "--config", TINY, "--workdir", str(tmp_path / "run"),
                 "--config.data.source=folder", f"--config.data.train_dir={train}",
                 f"--config.data.train_lr_dir={tmp_path / 'lr'}",
                 f"--config.data.valid_dir={valid}", "--config.total_steps=2"]) == 0


@pytest.mark.parametrize("degradation", ["bicubic", "random"])
def test_folder_batches_equal_the_embedded_sources(tmp_path, degradation):
    names = ("astronaut", "rocket")
    train = _write(tmp_path, {f"{n}.png": load_photo(n) for n in names})
    folder, _ = datasets.build(tiny_sr_config(data__source="folder", data__train_dir=train,
                                              data__degradation=degradation))
    embedded, _ = datasets.build(tiny_sr_config(data__train_images=names,
                                                data__degradation=degradation))
    a, b, c = folder.batch(3), folder.batch(3), folder.batch(4)
    for key in ("lr", "hr"):
        np.testing.assert_array_equal(a[key], b[key])
        np.testing.assert_array_equal(a[key], embedded.batch(3)[key])
    assert not np.array_equal(a["lr"], c["lr"])


def test_paired_lr_batches_equal_the_bicubic_folder_source(tmp_path):
    # LR files made by the bicubic degradation itself: the paired source must crop the same
    # aligned pairs the degrading one makes.
    crops = _crops()
    hr_dir = _write(tmp_path / "hr", crops)
    lr_dir = _write(tmp_path / "lr", {n: to_uint8(degrade(mod_crop(c / 255.0, 2), 2))
                                      for n, c in crops.items()})
    made, _ = datasets.build(tiny_sr_config(data__source="folder", data__train_dir=hr_dir))
    given, _ = datasets.build(tiny_sr_config(data__source="folder", data__train_dir=hr_dir,
                                             data__train_lr_dir=lr_dir))
    for key in ("lr", "hr"):
        np.testing.assert_array_equal(given.batch(2)[key], made.batch(2)[key])


def test_eval_images_scores_each_file_as_eval_does(tmp_path, capsys, folder_workdir):
    from jresgen.data.sr import make_pairs
    from jresgen.train.loop import load_workdir

    hr_dir = _write(tmp_path / "set", {"chelsea.png": load_photo("chelsea"),
                                       "crop.bmp": load_photo("coffee")[:61, :77]})
    (hr_dir / "readme.txt").write_text("Set-like folder")
    assert main(["eval", "--workdir", str(folder_workdir), "--images", str(hr_dir),
                 "--json"]) == 0
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert "readme.txt" in captured.err and len(captured.err.strip().splitlines()) == 1
    assert out["step"] == 4 and set(out["images"]) == {"chelsea.png", "crop.bmp"}
    assert set(out["mean"]) == {"model", "bicubic"}
    np.testing.assert_allclose(out["mean"]["model"]["psnr_y"], np.mean(
        [v["model"]["psnr_y"] for v in out["images"].values()]))

    config, task, state, _ = load_workdir(folder_workdir)
    summary, _ = task.evaluate(config, state, make_pairs({"chelsea": load_photo("chelsea")}, 2))
    assert out["images"]["chelsea.png"] == summary["images"]["chelsea"]


def test_eval_images_table(tmp_path, capsys, folder_workdir):
    hr_dir = _write(tmp_path, {"x.png": load_photo("coffee")[:40, :40]})
    assert main(["eval", "--workdir", str(folder_workdir), "--images", str(hr_dir)]) == 0
    out = capsys.readouterr().out
    assert "x.png" in out and "model - bicubic" in out


@pytest.mark.parametrize("setup,match", [
    ("missing", "is not a directory"),
    ("empty", "holds no image files"),
    ("junk", "holds no readable image (skipped 1 unreadable file(s)"),
    ("small", "too small to score"),
])
def test_eval_images_bad_folders(tmp_path, capsys, folder_workdir, setup, match):
    hr_dir = tmp_path / "set"
    if setup != "missing":
        hr_dir.mkdir()
    if setup == "junk":
        (hr_dir / "a.png").write_bytes(b"not a png")
    if setup == "small":
        _write(hr_dir, {"s.png": load_photo("coffee")[:12, :40]})
    one_line_error(capsys, ["eval", "--workdir", str(folder_workdir), "--images", str(hr_dir)],
                    match)


def test_eval_images_needs_an_sr_workdir(tmp_path, capsys):
    from jresgen.config import load_config
    _write(tmp_path / "set", {"x.png": load_photo("coffee")[:40, :40]})
    (tmp_path / "set" / "junk.txt").write_text("skipped, but only once there is a model")
    one_line_error(capsys, ["eval", "--workdir", str(tmp_path), "--images",
                             str(tmp_path / "set")], "not a jresgen work directory")
    (tmp_path / "config.json").write_text(
        load_config(f"{CONFIGS / 'classifier_digits.py'}:tiny").to_json())
    one_line_error(capsys, ["eval", "--workdir", str(tmp_path), "--images", str(tmp_path)],
                    "eval --images needs an SR one")


@pytest.mark.parametrize("files,overrides,match", [
    (None, ["data.source=folder"], "needs data.train_dir"),
    (None, ["data.source=disk"], "data.source must be one of embedded, folder"),
    (None, ["data.train_dir={tmp}/train"], "read only with data.source=folder"),
    (None, ["data.source=folder", "data.train_dir={tmp}/nope"], "is not a directory"),
    ({}, ["data.source=folder", "data.train_dir={tmp}/train"], "holds no image files"),
    ({"s.png": (20, 40)}, ["data.source=folder", "data.train_dir={tmp}/train"],
     "image s.png is smaller than the LR patch 16"),
    ({"a.png": (40, 40)}, ["data.source=folder", "data.train_dir={tmp}/train",
                           "data.train_lr_dir={tmp}/lr"], "LR image a.png is 21x20"),
    ({"a.png": (40, 40)}, ["data.source=folder", "data.train_dir={tmp}/train",
                           "data.train_lr_dir={tmp}/lr", "data.degradation=random"],
     "data.degradation must be 'bicubic'"),
    ({"chelsea.png": None}, ["data.source=folder", "data.train_dir={tmp}/train"],
     "images in both splits"),
])
def test_bad_training_folders_get_one_line(tmp_path, capsys, files, overrides, match):
    if files is not None:
        photo = load_photo("coffee")
        _write(tmp_path / "train", {n: load_photo("chelsea") if size is None else
                                    photo[:size[0], :size[1]] for n, size in files.items()})
        _write(tmp_path / "lr", {n: photo[:20, :21] for n in files})
    argv = ["train", "--config", TINY, "--workdir", str(tmp_path / "run")]
    argv += [f"--config.{o.replace('{tmp}', str(tmp_path))}" for o in overrides]
    one_line_error(capsys, argv, match)


DIV2K_TINY = f"{CONFIGS / 'edsr_baseline_div2k_x2.py'}:tiny"


def test_div2k_config_trains_on_div2k_folders_without_tfds(tmp_path):
    # DIV2K as downloaded (DIV2K_train_HR/, DIV2K_valid_HR/): the EDSR recipe with no TFDS
    crops = _crops()
    train = _write(tmp_path / "DIV2K_train_HR", crops)
    valid = _write(tmp_path / "DIV2K_valid_HR", {"0801.png": load_photo("coffee")[:48, :40]})
    from jresgen.config import load_config
    config = load_config(DIV2K_TINY)
    config.data.source, config.data.train_dir = "folder", str(train)
    source, _ = datasets.build(config)
    embedded, _ = datasets.build(tiny_sr_config(
        data__source="folder", data__train_dir=train, batch_size=config.batch_size,
        data__patch_size=config.data.patch_size))
    for key in ("lr", "hr"):  # the SR folder source itself, not a copy of it
        np.testing.assert_array_equal(source.batch(1)[key], embedded.batch(1)[key])
    workdir = tmp_path / "run"
    assert main(["train", "--config", DIV2K_TINY, "--workdir", str(workdir),
                 "--config.data.source=folder", f"--config.data.train_dir={train}",
                 f"--config.data.valid_dir={valid}", "--config.total_steps=2"]) == 0
    assert (workdir / "samples" / "0801.png.png").exists()


@pytest.mark.parametrize("overrides,match", [
    (["data.source=disk"], "data.source must be one of tfds, folder"),
    (["data.train_dir={tmp}"], "read only with data.source=folder"),
    (["data.degradation=random"], "use data.source=folder for 'random'"),
])
def test_div2k_config_bad_sources_get_one_line(tmp_path, capsys, overrides, match):
    argv = ["train", "--config", DIV2K_TINY, "--workdir", str(tmp_path / "run")]
    argv += [f"--config.{o.replace('{tmp}', str(tmp_path))}" for o in overrides]
    one_line_error(capsys, argv, match)
    assert not (tmp_path / "run").exists()
