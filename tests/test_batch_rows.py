"""Each process builds only its rows of a global batch (jresgen/data/rows.py): for every
embedded and folder source, `batch(step, rows)` is `batch(step)[rows]` bit for bit, and the
run asks its sources for this process's rows (`process_slice`). The TFDS sources' cases are
in tests/test_tfds_sources.py (they need the `tfds` extra)."""
import jax
import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS
from jresgen import data as datasets
from jresgen.config import apply_overrides, load_config
from jresgen.data.digits import DigitsTrainSource, load_split
from jresgen.data.photos import load_photo
from jresgen.data.rows import row_range
from jresgen.train import parallel
from jresgen.train.runs import make_run
from jresgen.tasks import get_task

BATCH = 8
# (lo, hi): the first rows, an uneven middle, the last rows; ranges as well as slices
ROWS = [slice(0, 3), slice(3, 8), range(2, 7), slice(5, 6)]


def tiny(name, *overrides):
    config = load_config(f"{CONFIGS / name}:tiny")
    apply_overrides(config, [f"batch_size={BATCH}", *overrides])
    return config


def assert_rows_match(source, steps=(0, 3)):
    """`source.batch(step, rows)` equals the whole batch's rows for every ROWS entry."""
    for step in steps:
        whole = source.batch(step)
        for rows in ROWS:
            part = source.batch(step, rows)
            assert part.keys() == whole.keys()
            index = np.asarray(row_range(rows, BATCH))
            for key, value in whole.items():
                assert part[key].dtype == value.dtype, key
                np.testing.assert_array_equal(part[key], value[index], err_msg=f"{key} {rows}")
    # and the rows are not all alike: a source that ignored `rows` would fail above
    assert not np.array_equal(*(next(iter(source.batch(0, r).values())) for r in
                                (slice(0, 1), slice(1, 2))))


def _write_photos(folder, names=("astronaut", "coffee", "chelsea"), size=96):
    folder.mkdir(parents=True)
    for name in names:
        Image.fromarray(load_photo(name)[:size, :size + 16]).save(folder / f"{name}.png")
    return folder


def _write_classes(root, rng, counts=(5, 6, 4), size=16):
    for c, n in enumerate(counts):
        (root / f"class{c}").mkdir(parents=True)
        for k in range(n):
            image = rng.integers(0, 256, (size + 4, size, 3), dtype=np.uint8)
            Image.fromarray(image).save(root / f"class{c}" / f"{k:02d}.png")
    return root


@pytest.mark.parametrize("name,overrides", [
    ("classifier_digits.py", ["data.max_shift=2"]),  # digits, with per-sample shifts
    ("sr_x2.py", []),  # photos_sr, bicubic pairs
    ("sr_x2_real.py", []),  # photos_sr, random degradation (blur, resize, noise, JPEG)
    ("style_transfer.py", []),  # photo_crops
    ("sngan_digits.py", []),  # gan: n_dis draws stacked on axis 1
    ("texture_net_brick.py", []),  # texture_exemplar: sample indices
    ("sngan_texture.py", []),  # texture_patches
])
def test_embedded_sources_build_any_rows_alone(name, overrides):
    source, _ = datasets.build(tiny(name, *overrides))
    assert_rows_match(source)


def test_digits_flips_and_shifts_keep_their_rows():
    (levels, labels), _ = load_split(16, "bilinear", 0.25, 0)
    assert_rows_match(DigitsTrainSource(levels, labels, BATCH, seed=3, max_shift=3,
                                        random_flip=True), steps=(0, 200))  # 200: epoch 2


@pytest.mark.parametrize("degradation", ["bicubic", "random"])
def test_sr_folder_source_builds_any_rows_alone(tmp_path, degradation):
    train = _write_photos(tmp_path / "hr")
    config = tiny("sr_x2.py", "data.source=folder", f"data.train_dir={train}",
                  f"data.degradation={degradation}")
    assert_rows_match(datasets.build(config)[0])


def test_sr_folder_with_paired_lr_builds_any_rows_alone(tmp_path):
    train = _write_photos(tmp_path / "hr")
    (tmp_path / "lr").mkdir()
    for path in train.iterdir():
        image = Image.open(path)
        image.resize((image.width // 2, image.height // 2)).save(tmp_path / "lr" / path.name)
    config = tiny("sr_x2.py", "data.source=folder", f"data.train_dir={train}",
                  f"data.train_lr_dir={tmp_path / 'lr'}")
    assert_rows_match(datasets.build(config)[0])


@pytest.mark.parametrize("name", ["classifier_digits.py", "sngan_digits.py"])
def test_class_folder_source_builds_any_rows_alone(tmp_path, name):
    train = _write_classes(tmp_path / "train", np.random.default_rng(0))
    config = tiny(name, "data.source=folder", f"data.train_dir={train}",
                  "data.test_fraction=0.2", "data.max_shift=1",
                  *(["model.num_classes=3"] if name.startswith("classifier") else []))
    assert_rows_match(datasets.build(config)[0])


def test_dtd_folder_source_builds_any_rows_alone(tmp_path):
    train = _write_classes(tmp_path / "train", np.random.default_rng(1), size=40)
    config = tiny("sngan_dtd.py", "data.source=folder", f"data.train_dir={train}",
                  "data.dtd_class=")
    assert_rows_match(datasets.build(config)[0])


def test_row_range_names_the_rows():
    assert row_range(None, 6) == range(6) and row_range(slice(2, 5), 6) == range(2, 5)
    assert row_range(slice(4, None), 6) == range(4, 6) and row_range(range(1, 9, 2), 6) == \
        range(1, 6, 2)
    with pytest.raises(TypeError):
        row_range([1, 2], 6)


@pytest.mark.parametrize("index,expected", [(0, slice(0, 4)), (1, slice(4, 8))])
def test_a_run_builds_only_its_process_rows(monkeypatch, index, expected):
    """Process `index` of 2 asks its source for the `index`-th half of each global batch, and
    `shard` keeps the same rows of a whole batch."""
    config = tiny("sr_x2_real.py")
    run = make_run(config, get_task(config.task))
    run.build_data(lazy_scorer=True)
    whole = run.sources[0].batch(5)
    asked = []
    original = run.sources[0].batch
    monkeypatch.setattr(run.sources[0], "batch",
                        lambda step, rows=None: asked.append(rows) or original(step, rows))
    monkeypatch.setattr(jax, "process_count", lambda: 2)
    monkeypatch.setattr(jax, "process_index", lambda: index)
    assert parallel.process_slice(BATCH) == expected
    mine = run.batch(5)
    kept = parallel.process_rows(whole)
    assert asked == [expected]
    for key in whole:
        np.testing.assert_array_equal(mine[key], whole[key][expected])
        np.testing.assert_array_equal(kept[key], whole[key][expected])


def test_one_process_asks_for_every_row():
    assert parallel.process_slice(BATCH) is None
    config = tiny("classifier_digits.py")
    run = make_run(config, get_task(config.task))
    run.build_data(lazy_scorer=True)
    for key, value in run.batch(2).items():
        np.testing.assert_array_equal(value, run.sources[0].batch(2)[key])


@pytest.mark.parametrize("name", ["sr_x2_real.py", "dcgan_digits.py", "vae_digits.py"])
def test_the_runs_example_builds_one_sample_with_the_batchs_shapes(name):
    """run.example() (initialisation, batch spec) asks for row 0 of step 0 only, and gives the
    global batch's shapes and dtypes with the real row 0."""
    run = make_run(tiny(name), get_task(tiny(name).task))
    run.build_data()
    source, asked = run.sources[0], []
    build = source.batch

    def counted(step, rows=None):
        asked.append((step, list(row_range(rows, BATCH))))
        return build(step, rows)

    source.batch = counted
    example = run.example()
    assert asked == [(0, [0])]
    whole = build(0)
    assert example.keys() == whole.keys()
    for key, value in whole.items():
        assert example[key].shape == value.shape and example[key].dtype == value.dtype, key
        np.testing.assert_array_equal(example[key][0], value[0])
