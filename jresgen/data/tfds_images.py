"""Labelled image datasets from TFDS, for the classifier, GAN and VAE families: MNIST,
CIFAR-10, CelebA (64x64 centre crops) and Imagenette.

    data.name          mnist | cifar10 | celeb_a | imagenette
    data.data_dir      where the prepared TFDS data lies ("" = TFDS's default)
    data.tfds_name     "" = the default of the table below (e.g. imagenette/160px-v2 instead)
    data.image_size    output size (square)
    data.center_crop   > 0: the central square of this side first (CelebA: 108 of 178x218,
                       as DCGAN's CelebA code did), then resized to image_size
    data.crop_fraction evaluation (and unaugmented training) images: shorter side resized to
                       image_size / crop_fraction, central square kept (ImageNet: 0.875)
    data.random_resized_crop, data.pad_crop, data.random_flip   training augmentation
    data.eval_examples > 0: only the first N examples of the evaluation split
    data.decode_threads  0 = min(8, CPUs)

Batches: {"image": float32 [B, S, S, C] in [0, 1] (uint8 / 255, so a VAE's 256 levels are
exact), "label": int32 [B]} (no "label" for CelebA). Sample i of step t is example
epoch_index(seed, N, t * B + i) of the training split (each example once per epoch), augmented
with a generator seeded by (seed, t, i): a pure function of (seed, step) whatever the device
count or thread order. Evaluation data: the whole evaluation split, {"image", "label"}, as the
embedded digits give it (none for GANs, which score samples against a classifier's data).
"""
from dataclasses import dataclass

import numpy as np

from jresgen.data import image_transforms as T
from jresgen.data.rows import row_range
from jresgen.data.tfds_records import Records, epoch_index, open_split


@dataclass(frozen=True)
class Layout:
    tfds_name: str
    train_split: str
    eval_split: str
    channels: int
    labelled: bool = True


LAYOUTS = {"mnist": Layout("mnist", "train", "test", 1),
           "cifar10": Layout("cifar10", "train", "test", 3),
           "celeb_a": Layout("celeb_a", "train", "validation", 3, labelled=False),
           "imagenette": Layout("imagenette/320px-v2", "train", "validation", 3)}
_AUGMENT_TAG = 3


class TFDSImageSource:
    def __init__(self, records: Records, data, batch_size: int, seed: int, labelled: bool):
        self.records, self.data, self.labelled = records, data, labelled
        self.batch_size, self.seed = batch_size, seed

    def _example(self, step: int, i: int, index: int):
        image, label = self.records.get(index)
        d, rng = self.data, np.random.default_rng((self.seed, _AUGMENT_TAG, step, i))
        if d.get("random_resized_crop", False):
            image = T.random_resized_crop(_center(image, d), d.image_size, rng)
        else:
            image = prepare(image, d)
        if d.get("pad_crop", 0):
            image = T.pad_crop(image, d.pad_crop, rng)
        if d.get("random_flip", False) and rng.integers(2):
            image = image[:, ::-1]
        return image, label

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): only their
        examples are read and decoded."""
        rows = row_range(rows, self.batch_size)
        k = step * self.batch_size + np.asarray(rows)  # the run's sample numbers
        index = epoch_index(self.seed, len(self.records), k)
        examples = self.records.map(lambda a: self._example(step, *a), list(zip(rows, index)))
        return _to_batch(examples, self.labelled)

    def all_images(self) -> np.ndarray:
        """Every training image once, unaugmented, in storage order: float32 [N, S, S, C]
        (the real split FID/KID compare samples with)."""
        return _to_batch(split_examples(self.records, self.data), False)["image"]


def _center(image, d):
    return T.center_crop(image, d.center_crop) if d.get("center_crop", 0) else image


def prepare(image: np.ndarray, d) -> np.ndarray:
    """The unaugmented image: optional centre crop, then fitted to image_size."""
    return T.fit(_center(image, d), d.image_size, d.get("crop_fraction", 1.0))


def split_examples(records: Records, d, n: int = 0) -> list:
    """(prepared image, label) of the first n examples (0: all), in storage order."""
    count = min(n, len(records)) if n else len(records)
    return records.map(lambda i: (prepare(records.get(i)[0], d), records.get(i)[1]),
                       range(count))


def _to_batch(examples, labelled: bool) -> dict[str, np.ndarray]:
    batch = {"image": np.stack([im for im, _ in examples]).astype(np.float32) / 255.0}
    if labelled:
        batch["label"] = np.asarray([lb for _, lb in examples], np.int32)
    return batch


def layout_of(data) -> Layout:
    layout = LAYOUTS[data.name]
    return Layout(data.get("tfds_name", "") or layout.tfds_name,
                  data.get("train_split", "") or layout.train_split,
                  data.get("eval_split", "") or layout.eval_split,
                  layout.channels, layout.labelled)


def open_records(data, split: str, layout: Layout) -> Records:
    def make(example, _):
        image = T.as_channels(np.asarray(example["image"]), layout.channels)
        return image, int(example["label"]) if layout.labelled else -1
    return Records(open_split(layout.tfds_name, split, data.get("data_dir", "")), make,
                   data.get("decode_threads", 0))


def build_tfds_images(config):
    """(train source, evaluation batch) for data.name in LAYOUTS."""
    d = config.data
    layout = layout_of(d)
    train = open_records(d, layout.train_split, layout)
    source = TFDSImageSource(train, d, config.batch_size, config.seed, layout.labelled)
    if config.task == "gan":
        return source, {}
    test = open_records(d, layout.eval_split, layout)
    examples = split_examples(test, d, d.get("eval_examples", 0))
    return source, _to_batch(examples, layout.labelled)
