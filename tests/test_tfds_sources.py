"""The TFDS sources (jresgen/data/tfds_*.py): every dataset through `tfds.testing.mock_data`
(which mocks `tfds.data_source` too, without TensorFlow), and the real ArrayRecord read path on
small datasets this file builds with TFDS builders from the embedded digits and photos, down to
`jresgen train` on one of them. Skipped without the `tfds` extra."""
import json

import numpy as np
import pytest

tfds = pytest.importorskip("tensorflow_datasets")

from PIL import Image  # noqa: E402

from conftest import CONFIGS, one_line_error  # noqa: E402
from jresgen import data as datasets  # noqa: E402
from jresgen.config import apply_overrides, load_config  # noqa: E402
from jresgen.data.tfds_records import epoch_index  # noqa: E402


def tiny(name, *overrides):
    config = load_config(f"{CONFIGS / name}:tiny")
    apply_overrides(config, list(overrides))
    return config


def check_pure(config, step=3):
    """The batch of `step` is a pure function of (seed, step): a second, fresh source gives
    the same arrays, and another step or seed gives others."""
    source, eval_data = datasets.build(config)
    batch = source.batch(step)
    again = datasets.build(config)[0].batch(step)
    assert batch.keys() == again.keys()
    for k in batch:
        np.testing.assert_array_equal(batch[k], again[k])
    first = next(iter(batch))
    assert not np.array_equal(batch[first], source.batch(step + 1)[first])
    apply_overrides(config, [f"seed={config.seed + 1}"])
    assert not np.array_equal(batch[first], datasets.build(config)[0].batch(step)[first])
    return batch, eval_data


def check_images(images, shape):
    assert images.shape == shape and images.dtype == np.float32
    levels = images * 255
    assert images.min() >= 0 and images.max() <= 1 and np.allclose(levels, np.round(levels),
                                                                   atol=1e-4)


# config, expected batch image shape (GAN batches carry n_dis draws on axis 1), labelled
IMAGE_CONFIGS = [("resnet20_cifar10.py", (8, 32, 32, 3), True),
                 ("vae_mnist.py", (8, 28, 28, 1), True),
                 ("resnet50_imagenette.py", (8, 32, 32, 3), True),
                 ("dcgan_celeba64.py", (8, 1, 16, 16, 3), False),
                 ("sngan_cifar10.py", (8, 2, 32, 32, 3), True)]


@pytest.mark.parametrize("name,shape,labelled", IMAGE_CONFIGS)
def test_image_sources_on_mock_data(name, shape, labelled):
    config = tiny(name)
    with tfds.testing.mock_data(num_examples=12):
        batch, eval_data = check_pure(config)
    check_images(batch["image"], shape)
    assert ("label" in batch) == labelled
    if labelled:
        assert batch["label"].dtype == np.int32 and batch["label"].shape == shape[:-3]
        assert batch["label"].min() >= 0 and batch["label"].max() < 10
    if config.task == "gan":
        assert eval_data == {}
    else:  # the whole evaluation split (tiny: its first 16 of the 12 mock examples)
        check_images(eval_data["image"], (12,) + shape[1:])
        assert eval_data["label"].shape == (12,) and eval_data["label"].dtype == np.int32


def test_dtd_patches_on_mock_data():
    config = tiny("sngan_dtd.py", "data.dtd_class=")
    with tfds.testing.mock_data(num_examples=5):
        batch, eval_data = check_pure(config)
        # A named class keeps only its images (mock labels are random: take example 0's).
        split = tfds.data_source("dtd", split="train")
        name = split.dataset_info.features["label"].names[int(split[0]["label"])]
        apply_overrides(config, [f"data.dtd_class={name}"])
        source, _ = datasets.build(config)
        assert all(int(split[i]["label"]) == int(split[0]["label"]) for i in source.indices)
    check_images(batch["image"], (8, 2, 32, 32, 3))
    assert eval_data["exemplar"].ndim == 3 and eval_data["exemplar"].shape[-1] == 3


def _div2k_pairs(scale, count=6):
    """Mock DIV2K: LR random, HR its nearest-neighbour enlargement, so that any aligned,
    flipped crop of HR subsampled by `scale` is the LR crop exactly."""
    rng = np.random.default_rng(1)
    pairs = []
    for i in range(count):
        lr = rng.integers(0, 256, (20 + i, 24, 3), dtype=np.uint8)
        hr = np.repeat(np.repeat(lr, scale, 0), scale, 1)
        pairs.append({"lr": lr, "hr": np.pad(hr, ((0, 1), (0, 2), (0, 0)))})  # HR a bit larger
    return pairs


@pytest.mark.parametrize("scale", [2, 3, 4])
def test_div2k_pairs_on_mock_data(scale):
    config = tiny(f"edsr_baseline_div2k_x{scale}.py")
    with tfds.testing.mock_data(as_data_source_fn=lambda *a, **k: _div2k_pairs(scale)):
        batch, valid = check_pure(config)
    p = config.data.patch_size
    check_images(batch["lr"], (4, p, p, 3))
    check_images(batch["hr"], (4, p * scale, p * scale, 3))
    np.testing.assert_array_equal(batch["hr"][:, ::scale, ::scale], batch["lr"])
    (pair,) = valid  # tiny: one validation pair, whole, HR cut to the LR grid
    expected = _div2k_pairs(scale)[0]
    np.testing.assert_array_equal(np.round(pair.lr * 255), expected["lr"])
    assert pair.hr.shape == (expected["lr"].shape[0] * scale, 24 * scale, 3)


# ---- each process builds only its rows (jresgen/data/rows.py) ------------------------------

ROWS = [slice(0, 3), slice(3, 8), range(2, 7), slice(5, 6)]  # tiny batches: 8 rows (DIV2K 4)


def check_rows(source, batch_size, step=3):
    """`source.batch(step, rows)` is `source.batch(step)[rows]` bit for bit."""
    from jresgen.data.rows import row_range
    whole = source.batch(step)
    for rows in ROWS:
        index = np.asarray(row_range(rows, batch_size))
        part = source.batch(step, rows)
        for key, value in whole.items():
            np.testing.assert_array_equal(part[key], value[index], err_msg=f"{key} {rows}")


class CountingSplit:
    """A TFDS split that records which examples were read (each read decodes one)."""

    def __init__(self, split):
        self.split, self.read = split, []

    def __len__(self):
        return len(self.split)

    def __getitem__(self, index):
        self.read.append(int(index))
        return self.split[index]


@pytest.mark.parametrize("name,overrides", [
    ("resnet20_cifar10.py", []), ("vae_mnist.py", []), ("dcgan_celeba64.py", []),
    ("resnet50_imagenette.py", []), ("sngan_cifar10.py", []),
    ("sngan_dtd.py", ["data.dtd_class="])])
def test_image_sources_build_any_rows_alone(name, overrides):
    config = tiny(name, *overrides)
    with tfds.testing.mock_data(num_examples=12):
        check_rows(datasets.build(config)[0], config.batch_size)


def test_div2k_builds_any_rows_alone():
    config = tiny("edsr_baseline_div2k_x2.py", "batch_size=8")
    with tfds.testing.mock_data(as_data_source_fn=lambda *a, **k: _div2k_pairs(2)):
        check_rows(datasets.build(config)[0], 8)


def test_a_process_reads_and_decodes_only_its_rows():
    """Rows 2..4 of a step read exactly their 3 examples, those the whole batch has there."""
    config = tiny("resnet20_cifar10.py", "data.cache_images=False")
    b, step = config.batch_size, 3
    with tfds.testing.mock_data(num_examples=12):
        source, _ = datasets.build(config)
        counted = source.records.split = CountingSplit(source.records.split)
        source.batch(step, slice(2, 5))
        assert sorted(counted.read) == sorted(epoch_index(config.seed, 12, b * step +
                                                          np.arange(2, 5)).tolist())
        counted.read.clear()
        source.batch(step)
        assert len(counted.read) == b
    # DIV2K keeps what it decoded (data.cache_images): a fresh source decodes only its rows
    config = tiny("edsr_baseline_div2k_x2.py", "batch_size=8")
    with tfds.testing.mock_data(as_data_source_fn=lambda *a, **k: _div2k_pairs(2, count=24)):
        source, _ = datasets.build(config)
        counted = source.records.split = CountingSplit(source.records.split)
        source.batch(0, slice(4, 8))
        assert sorted(counted.read) == sorted(epoch_index(config.seed, 24,
                                                          np.arange(4, 8)).tolist())


@pytest.mark.parametrize("name", ["resnet20_cifar10.py", "vae_mnist.py", "dcgan_celeba64.py"])
def test_cached_images_give_the_uncached_batches_decoding_each_example_once(name):
    import copy
    with tfds.testing.mock_data(num_examples=12):
        cached, _ = datasets.build(tiny(name))
        plain, _ = datasets.build(tiny(name, "data.cache_images=False"))
        inner = getattr(cached, "source", cached)  # a GAN's StackedDraws holds the source
        assert inner.cache is not None and getattr(plain, "source", plain).cache is None
        counted = inner.records.split = CountingSplit(inner.records.split)
        for step in range(5):  # several epochs of the 12 examples
            a, b = cached.batch(step), plain.batch(step)
            assert a.keys() == b.keys()
            for k in a:
                np.testing.assert_array_equal(a[k], b[k])
        assert sorted(counted.read) == list(range(12))
        again = copy.deepcopy(cached).batch(7)  # sweeps copy sources
        np.testing.assert_array_equal(again["image"], plain.batch(7)["image"])


def test_cached_images_refuse_random_resized_crops(tmp_path, capsys):
    one_line_error(capsys, ["train", "--config", f"{CONFIGS / 'resnet50_imagenette.py'}:tiny",
                            "--workdir", str(tmp_path / "run"), "--config.data.cache_images=True"],
                   "data.random_resized_crop crops each sample")


def test_epoch_index_sees_every_example_once_per_epoch():
    n = 9
    k = np.arange(3 * n)
    index = epoch_index(0, n, k)
    for e in range(3):
        assert sorted(index[e * n:(e + 1) * n]) == list(range(n))
    np.testing.assert_array_equal(epoch_index(0, n, k[10:13]), index[10:13])
    assert not np.array_equal(epoch_index(1, n, k), index)


# ---- the real read path: datasets built here, written as ArrayRecord, read back ----------

def _digit_images():
    from sklearn.datasets import load_digits
    digits = load_digits()
    images = np.repeat(np.repeat(digits.images.astype(np.uint8) * 15, 3, 1), 3, 2)  # 24x24
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))[..., None], digits.target  # 28x28x1


class DigitsAsMnist(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """scikit-learn's digits laid out as MNIST (28x28x1, 10 classes); unregistered, so
    jresgen finds it only through the files it wrote, as it finds a user's prepared data."""
    VERSION = tfds.core.Version("1.0.0")
    SPLITS = {"train": range(0, 60), "test": range(60, 80)}

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(28, 28, 1)),
            "label": tfds.features.ClassLabel(num_classes=10),
            "row": tfds.features.Tensor(shape=(), dtype=np.int64)}))

    def _split_generators(self, dl_manager):
        return {name: self._generate_examples(rows) for name, rows in self.SPLITS.items()}

    def _generate_examples(self, rows):
        images, labels = _digit_images()
        for i in rows:  # PIL images: TFDS encodes them without TensorFlow
            yield i, {"image": Image.fromarray(images[i, ..., 0]), "label": int(labels[i]),
                      "row": i}


class PhotosAsDiv2k(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    """Crops of scikit-image photographs laid out as DIV2K (hr, lr at x2, PNG)."""
    VERSION = tfds.core.Version("1.0.0")

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "hr": tfds.features.Image(), "lr": tfds.features.Image()}))

    def _split_generators(self, dl_manager):
        return {"train": self._generate_examples(("astronaut", "rocket")),
                "validation": self._generate_examples(("chelsea",))}

    def _generate_examples(self, names):
        from jresgen.data.photos import load_photo
        for name in names:
            hr = load_photo(name)[:96, :128]
            lr = Image.fromarray(hr).resize((64, 48), Image.Resampling.BICUBIC)
            yield name, {"hr": Image.fromarray(hr), "lr": lr}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("tfds")
    for builder in (DigitsAsMnist, PhotosAsDiv2k):
        builder(data_dir=str(data_dir), file_format="array_record").download_and_prepare()
    return data_dir


def test_prepared_array_record_reads_back(prepared):
    config = tiny("vae_mnist.py", f"data.data_dir={prepared}", "data.tfds_name=digits_as_mnist")
    source, test = datasets.build(config)
    images, labels = _digit_images()

    def rows(split, index):  # TFDS shuffles examples when it writes them: find each one's row
        records = tfds.data_source("digits_as_mnist", split=split, data_dir=str(prepared))
        return np.asarray([records[int(i)]["row"] for i in index])
    train_rows = rows("train", epoch_index(config.seed, 60, np.arange(8) + 2 * 8))
    batch = source.batch(2)
    np.testing.assert_array_equal(np.round(batch["image"] * 255), images[train_rows])
    np.testing.assert_array_equal(batch["label"], labels[train_rows])
    test_rows = rows("test", range(16))  # tiny: the first 16 of 20
    np.testing.assert_array_equal(np.round(test["image"] * 255), images[test_rows])
    assert sorted(rows("train", epoch_index(config.seed, 60, np.arange(60)))) == \
        list(range(60))


def test_prepared_div2k_reads_back(prepared):
    config = tiny("edsr_baseline_div2k_x2.py", f"data.data_dir={prepared}",
                  "data.tfds_name=photos_as_div2k")
    source, (pair,) = datasets.build(config)
    batch = source.batch(0)
    assert batch["lr"].shape == (4, 16, 16, 3) and batch["hr"].shape == (4, 32, 32, 3)
    assert pair.hr.shape == (96, 128, 3) and pair.lr.shape == (48, 64, 3)


def test_train_on_a_prepared_dataset(prepared, tmp_path, capsys, cheap_compilation):
    """`jresgen train` end to end on the ArrayRecord files (ResNet-20's CIFAR-10 config reading
    the gray 28x28 digits as 3-channel 32x32 images)."""
    from jresgen.cli import main
    workdir = tmp_path / "run"
    code = main(["train", "--config", f"{CONFIGS / 'resnet20_cifar10.py'}:tiny", "--workdir",
                 str(workdir), f"--config.data.data_dir={prepared}",
                 "--config.data.tfds_name=digits_as_mnist", "--config.total_steps=2"])
    assert code == 0, capsys.readouterr().err
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records if "loss" in r] == [1, 2]
    assert all(np.isfinite(r["loss"]) for r in records if "loss" in r)
    assert "test_accuracy" in records[-1]


@pytest.mark.parametrize("override,match", [
    ("--config.data.eval_split=nosuch", "has no split 'nosuch'"),
    ("--config.data.tfds_name=no_such_dataset", "TFDS has no dataset 'no_such_dataset'"),
    ("--config.data.source=embedded", "data.source must be 'tfds'")])
def test_bad_tfds_keys_get_one_line(prepared, tmp_path, capsys, override, match):
    argv = ["train", "--config", f"{CONFIGS / 'vae_mnist.py'}:tiny", "--workdir",
            str(tmp_path / "run"), f"--config.data.data_dir={prepared}",
            "--config.data.tfds_name=digits_as_mnist", override]
    one_line_error(capsys, argv, match)
    assert not (tmp_path / "run").exists()
