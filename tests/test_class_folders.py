"""Classifier, GAN and VAE training on the user's class folders (`data.source = "folder"`,
one sub-folder per class), on small folders each test writes."""
import json

import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS, one_line_error
from jresgen import data as datasets
from jresgen.cli import main
from jresgen.config import apply_overrides, load_config
from jresgen.data.digits import LEVELS, load_split

CLASSIFIER = f"{CONFIGS / 'classifier_digits.py'}:tiny"


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation(cheap_compilation):
    """These tests pay for compilation, not numerics."""


def _config(spec=CLASSIFIER, **overrides):
    config = load_config(spec)
    apply_overrides(config, [f"{k.replace('__', '.')}={v}" for k, v in overrides.items()])
    return config


def _write_classes(root, classes: dict, mode="L"):
    """classes: {class name: uint8 images [N, H, W] or [N, H, W, 3]}, saved as 000.png, ..."""
    for name, images in classes.items():
        (root / name).mkdir(parents=True, exist_ok=True)
        for k, image in enumerate(images):
            Image.fromarray(image).convert(mode).save(root / name / f"{k:03d}.png")
    return root


def _digit_folders(root):
    """The embedded 16x16 digits split (train, test) as class folders "0".."9", each class's
    images in the embedded order; returns the folders and the split's uint8 images."""
    split = load_split(16, "bilinear", 0.25, 0)
    folders = []
    for part, (levels, labels) in zip(("train", "test"), split):
        pixels = np.round(levels * (255 / (LEVELS - 1))).astype(np.uint8)
        folders.append(_write_classes(root / part, {str(c): pixels[labels == c]
                                                    for c in range(10)}))
    return folders, split


@pytest.fixture(scope="module")
def digits(tmp_path_factory):
    return _digit_folders(tmp_path_factory.mktemp("digits"))


def _random_classes(rng, counts: dict, size=16):
    return {name: rng.integers(0, 256, (n, size, size), dtype=np.uint8)
            for name, n in counts.items()}


def test_labels_follow_the_sorted_class_names_and_batches_are_hand_computed(tmp_path):
    rng = np.random.default_rng(0)
    classes = _random_classes(rng, {"zebra": 3, "ant": 4, "mole": 5})
    _write_classes(tmp_path, classes)
    config = _config(data__source="folder", data__train_dir=tmp_path,
                     data__valid_dir=tmp_path, data__max_shift=0, model__num_classes=3)
    source, test = datasets.build(config)
    # labels are indices of the sorted names: ant 0, mole 1, zebra 2; files in name order
    stored = np.concatenate([classes[n] for n in ("ant", "mole", "zebra")])
    labels = np.repeat([0, 1, 2], [4, 5, 3])
    np.testing.assert_array_equal(test["label"], labels)
    np.testing.assert_array_equal(test["image"][..., 0], stored / np.float32(255))
    # batch(step) of a 12-image epoch at batch 8: positions 8*step.. of epoch permutations
    order = np.concatenate([np.random.default_rng((config.seed, 0, e)).permutation(12)
                            for e in range(3)])
    for step in (0, 1, 2):
        batch = source.batch(step)
        index = order[8 * step: 8 * step + 8]
        assert batch["image"].dtype == np.float32 and batch["image"].shape == (8, 16, 16, 1)
        np.testing.assert_array_equal(batch["image"][..., 0], stored[index] / np.float32(255))
        np.testing.assert_array_equal(batch["label"], labels[index])
    again, _ = datasets.build(config)
    np.testing.assert_array_equal(again.batch(2)["image"], source.batch(2)["image"])
    assert source.levels.dtype == np.uint8  # held as uint8, converted per batch


def test_images_are_resized_centre_cropped_and_converted(tmp_path):
    rng = np.random.default_rng(1)
    wide = rng.integers(0, 256, (20, 30, 3), dtype=np.uint8)  # 30x20 colour
    _write_classes(tmp_path, {"a": [wide], "b": [wide[:16, :16]]}, mode="RGB")
    _, test = datasets.build(_config(data__source="folder", data__train_dir=tmp_path,
                                     data__valid_dir=tmp_path, data__resize="bicubic",
                                     model__num_classes=2))
    by_hand = Image.fromarray(wide).resize((24, 16), Image.Resampling.BICUBIC)
    by_hand = np.asarray(by_hand.crop((4, 0, 20, 16)).convert("L"))
    np.testing.assert_array_equal(test["image"][0, ..., 0] * 255, by_hand)
    luma = np.asarray(Image.fromarray(wide[:16, :16]).convert("L"))
    np.testing.assert_array_equal(test["image"][1, ..., 0] * 255, luma)  # no resize at 16
    # grayscale files as three equal channels
    _write_classes(tmp_path / "gray", {"a": [wide[:16, :16, 0]], "b": [wide[:16, :16, 1]]})
    _, test = datasets.build(_config(data__source="folder", data__train_dir=tmp_path / "gray",
                                     data__valid_dir=tmp_path / "gray", data__channels=3,
                                     model__num_classes=2))
    assert test["image"].shape == (2, 16, 16, 3)
    np.testing.assert_array_equal(test["image"][0] * 255, np.repeat(wide[:16, :16, :1], 3, -1))


def test_held_out_split_is_seeded_per_class(tmp_path):
    _write_classes(tmp_path, _random_classes(np.random.default_rng(2), {"a": 8, "b": 4}))
    config = _config(data__source="folder", data__train_dir=tmp_path, data__test_fraction=0.25,
                     model__num_classes=2)
    source, test = datasets.build(config)
    np.testing.assert_array_equal(test["label"], [0, 0, 1])  # round(0.25 * n) of each class
    assert len(source.labels) == 9
    everything = np.concatenate([source.all_images(), test["image"]])
    assert len({im.tobytes() for im in everything}) == 12  # disjoint, nothing lost
    _, again = datasets.build(config)
    np.testing.assert_array_equal(again["image"], test["image"])
    config.data.split_seed = 1
    assert not np.array_equal(datasets.build(config)[1]["image"], test["image"])


def test_a_folder_of_the_embedded_digits_gives_their_images(digits):
    (train, test_dir), (_, (te_x, te_y)) = digits
    order = np.argsort(te_y, kind="stable")  # the folder's order: class, then file name
    vae = f"{CONFIGS / 'vae_digits.py'}:tiny"
    _, test = datasets.build(_config(vae, data__source="folder", data__train_dir=train,
                                     data__valid_dir=test_dir))
    _, embedded = datasets.build(_config(vae))
    # the VAE's data are on the 17 levels: exactly the embedded test digits
    np.testing.assert_array_equal(test["image"], embedded["image"][order])
    np.testing.assert_array_equal(test["label"], te_y[order])
    _, test = datasets.build(_config(data__source="folder", data__train_dir=train,
                                     data__valid_dir=test_dir))
    np.testing.assert_allclose(test["image"], embedded["image"][order], atol=0.5 / 255)


def test_classifier_trains_and_evaluates_on_folders(digits, tmp_path, capsys):
    (train, test_dir), (_, (_, te_y)) = digits
    workdir = tmp_path / "run"
    assert main(["train", "--config", CLASSIFIER, "--workdir", str(workdir),
                 "--config.data.source=folder", f"--config.data.train_dir={train}",
                 f"--config.data.valid_dir={test_dir}", "--config.total_steps=2"]) == 0
    capsys.readouterr()
    assert main(["eval", "--workdir", str(workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["step"] == 2 and 0 <= out["accuracy"] <= 1
    assert out["count"] == np.sum(out["confusion"]) == len(te_y)


@pytest.mark.parametrize("spec", ["vae_digits.py", "sngan_digits_cond.py"])
def test_vae_and_conditional_gan_train_on_a_folder(tmp_path, spec):
    classes = _random_classes(np.random.default_rng(3), {str(c): 2 for c in range(10)})
    train = _write_classes(tmp_path / "train", classes)
    workdir = tmp_path / "run"
    assert main(["train", "--config", f"{CONFIGS / spec}:tiny", "--workdir", str(workdir),
                 "--config.data.source=folder", f"--config.data.train_dir={train}",
                 "--config.data.test_fraction=0.5", "--config.total_steps=2"]) == 0
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").open()]
    assert records[-1]["step"] == 2
    config = json.loads((workdir / "config.json").read_text())
    if config["task"] == "gan":  # the conditional GAN's real labels are the folders'
        batch = datasets.build(load_config(f"{CONFIGS / spec}:tiny", [
            "data.source=folder", f"data.train_dir={train}", "data.test_fraction=0.5"]))[0].batch(0)
        n_dis = config["gan"]["n_dis"]
        assert batch["label"].shape == (8, n_dis) and batch["image"].shape == (8, n_dis, 16, 16, 1)
        by_image = {classes[str(c)][k].tobytes(): c for c in range(10) for k in range(2)}
        pixels = np.round(batch["image"] * 255).astype(np.uint8)[..., 0]
        assert [by_image[im.tobytes()] for im in pixels.reshape(-1, 16, 16)] == \
            batch["label"].reshape(-1).tolist()


def test_unreadable_files_are_named_in_one_line_and_skipped(tmp_path, capsys):
    _write_classes(tmp_path, _random_classes(np.random.default_rng(4), {"a": 2, "b": 2}))
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    (tmp_path / "b" / "broken.png").write_bytes(b"\x89PNG")
    source, test = datasets.build(_config(data__source="folder", data__train_dir=tmp_path,
                                          data__test_fraction=0.5, model__num_classes=2))
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "a/notes.txt, b/broken.png" in err, err
    assert len(test["label"]) == len(source.labels) == 2


def _errors_setup(root, setup):
    rng = np.random.default_rng(5)
    train = root / "train"
    if setup == "missing":
        return train, []
    train.mkdir()
    if setup == "empty":
        return train, []
    if setup == "no_readable":
        _write_classes(train, _random_classes(rng, {"a": 2}))
        (train / "b").mkdir()
        (train / "b" / "x.txt").write_text("text")
        return train, []
    if setup == "empty_class":
        _write_classes(train, _random_classes(rng, {"a": 2}))
        (train / "b").mkdir()
        return train, []
    if setup == "one_class":
        return _write_classes(train, _random_classes(rng, {"a": 2})), []
    _write_classes(train, _random_classes(rng, {"a": 2, "b": 2}))
    if setup == "valid_classes":
        valid = _write_classes(root / "valid", _random_classes(rng, {"a": 1, "c": 1}))
        return train, [f"--config.data.valid_dir={valid}"]
    if setup == "num_classes":
        return train, []
    if setup == "without_source":
        return train, []
    raise AssertionError(setup)


@pytest.mark.parametrize("setup,match", [
    ("missing", "is not a directory"),
    ("empty", "has no class sub-folders"),
    ("no_readable", "class 'b' of data.train_dir"),
    ("empty_class", "class 'b' of data.train_dir"),
    ("one_class", "a classifier needs two classes or more"),
    ("valid_classes", "has other classes than data.train_dir"),
    ("num_classes", "add --config.model.num_classes=2"),
    ("without_source", "data.train_dir is read only with data.source=folder"),
])
def test_folder_errors_are_one_line(tmp_path, capsys, setup, match):
    train, extra = _errors_setup(tmp_path, setup)
    source = [] if setup == "without_source" else ["--config.data.source=folder"]
    classes = [] if setup == "num_classes" else ["--config.model.num_classes=2"]
    one_line_error(capsys, ["train", "--config", CLASSIFIER, "--workdir", str(tmp_path / "run"),
                            *source, f"--config.data.train_dir={train}", *classes, *extra],
                   match)
    assert not (tmp_path / "run" / "metrics.jsonl").exists()


# The public-dataset configs read class folders too (configs/common_tfds.py class_folder_keys):
# config, image side and channels of its :tiny variant
TFDS_CONFIGS = [("resnet20_cifar10.py", 32, 3), ("resnet50_imagenette.py", 32, 3),
                ("vae_mnist.py", 28, 1), ("vae_cifar10.py", 32, 3), ("sngan_cifar10.py", 32, 3),
                ("dcgan_cifar10.py", 32, 3), ("dcgan_celeba64.py", 16, 3)]


@pytest.fixture(scope="module")
def cifar_like(tmp_path_factory):
    """Ten class folders of two 40x36 colour PNGs each, as a user's CIFAR-10 export."""
    rng = np.random.default_rng(6)
    classes = {f"c{c}": rng.integers(0, 256, (2, 36, 40, 3), dtype=np.uint8) for c in range(10)}
    return _write_classes(tmp_path_factory.mktemp("cifar_like"), classes, mode="RGB")


@pytest.mark.parametrize("name,size,channels", TFDS_CONFIGS)
def test_public_dataset_configs_read_class_folders(cifar_like, name, size, channels):
    """No TFDS needed: the folder source gives the shapes the TFDS source would."""
    config = _config(f"{CONFIGS / name}:tiny", data__source="folder",
                     data__train_dir=cifar_like, data__test_fraction=0.5)
    source, test = datasets.build(config)
    batch = source.batch(0)
    n_dis = (config.gan.n_dis,) if config.task == "gan" else ()
    assert batch["image"].shape == (8, *n_dis, size, size, channels)
    assert batch["label"].shape == (8, *n_dis) and batch["label"].max() < 10
    assert test["image"].shape == (10, size, size, channels)


def test_a_public_dataset_config_trains_on_class_folders(cifar_like, tmp_path, capsys):
    """ResNet-20's CIFAR-10 recipe on CIFAR-10-like PNG folders: 2 steps, then evaluation."""
    workdir = tmp_path / "run"
    assert main(["train", "--config", f"{CONFIGS / 'resnet20_cifar10.py'}:tiny", "--workdir",
                 str(workdir), "--config.data.source=folder",
                 f"--config.data.train_dir={cifar_like}", "--config.data.test_fraction=0.5",
                 "--config.total_steps=2"]) == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").open()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
    assert all(np.isfinite(r["loss"]) for r in records if "loss" in r)
    capsys.readouterr()
    assert main(["eval", "--workdir", str(workdir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["count"] == 10


def test_a_folder_key_without_the_folder_source_is_one_line(tmp_path, capsys):
    one_line_error(capsys, ["train", "--config", f"{CONFIGS / 'vae_mnist.py'}:tiny",
                            "--workdir", str(tmp_path / "run"),
                            f"--config.data.train_dir={tmp_path}"],
                   "data.train_dir is read only with data.source=folder")


def test_the_dtd_texture_gan_takes_patches_of_one_class_folder(tmp_path, capsys):
    """configs/sngan_dtd.py on DTD's own layout: patches of the chosen class's images only
    (class "b" white, the others black), scaled as from TFDS."""
    shades = {"a": 0, "b": 255, "c": 0}
    for name, shade in shades.items():
        (tmp_path / name).mkdir()
        for k in range(2):
            Image.fromarray(np.full((40, 50 + k, 3), shade, np.uint8)).save(
                tmp_path / name / f"{k}.jpg")
    config = _config(f"{CONFIGS / 'sngan_dtd.py'}:tiny", data__source="folder",
                     data__train_dir=tmp_path, data__dtd_class="b")
    source, eval_data = datasets.build(config)
    p = config.data.patch_size
    assert source.batch(0)["image"].shape == (8, config.gan.n_dis, p, p, 3)
    assert (source.batch(0)["image"] == 1).all() and len(source.indices) == 2
    assert eval_data["exemplar"].shape == (p, round(50 * p / 40), 3)  # never below the patch
    config.data.dtd_class = ""
    assert len(datasets.build(config)[0].indices) == 6
    one_line_error(capsys, ["train", "--config", f"{CONFIGS / 'sngan_dtd.py'}:tiny",
                            "--workdir", str(tmp_path / "run"), "--config.data.source=folder",
                            f"--config.data.train_dir={tmp_path}",
                            "--config.data.dtd_class=banded"],
                   "data.dtd_class 'banded' is not a sub-folder of data.train_dir")
