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
_AUGMENT_TAG, _PAD_CROP_TAG, _FLIP_TAG = 3, 4, 5  # generator seeds (seed, TAG, step[, i])


@dataclass(frozen=True)
class Transform:
    """The data.* keys the per-example path reads, read once: ml_collections' `get` of an
    absent key builds a did-you-mean message with difflib, which was half of a CIFAR batch's
    time when it ran per example."""
    image_size: int
    center_crop: int = 0
    crop_fraction: float = 1.0
    random_resized_crop: bool = False
    pad_crop: int = 0
    random_flip: bool = False

    @classmethod
    def of(cls, d) -> "Transform":
        return cls(d.image_size, d.get("center_crop", 0), d.get("crop_fraction", 1.0),
                   bool(d.get("random_resized_crop", False)), d.get("pad_crop", 0),
                   bool(d.get("random_flip", False)))


class TFDSImageSource:
    def __init__(self, records: Records, data, batch_size: int, seed: int, labelled: bool):
        self.records, self.transform, self.labelled = records, Transform.of(data), labelled
        self.batch_size, self.seed = batch_size, seed

    def _image(self, step: int, i: int, index: int):
        """Sample i's decoded image at the output size, and its label (random-resized crops
        draw from a generator of their own per sample: (seed, step, i))."""
        image, label = self.records.get(index)
        t = self.transform
        if t.random_resized_crop:
            rng = np.random.default_rng((self.seed, _AUGMENT_TAG, step, i))
            return T.random_resized_crop(_center(image, t), t.image_size, rng), label
        return prepare(image, t), label

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): only their
        examples are read and decoded. Pad-and-crop offsets and flips are drawn for the whole
        batch from (seed, step) and applied to the batch at once."""
        rows = row_range(rows, self.batch_size)
        pick, t = np.asarray(rows), self.transform
        index = epoch_index(self.seed, len(self.records), step * self.batch_size + pick)
        examples = self.records.map(lambda a: self._image(step, *a), list(zip(rows, index)))
        images = np.stack([image for image, _ in examples])
        images = T.random_pad_crop_flip(images, rows, self.batch_size, t.pad_crop,
                                        t.random_flip, (self.seed, _PAD_CROP_TAG, step),
                                        (self.seed, _FLIP_TAG, step))
        return _to_batch(examples, self.labelled, images)

    def all_images(self) -> np.ndarray:
        """Every training image once, unaugmented, in storage order: float32 [N, S, S, C]
        (the real split FID/KID compare samples with)."""
        return _to_batch(split_examples(self.records, self.transform), False)["image"]


def _center(image, t: Transform):
    return T.center_crop(image, t.center_crop) if t.center_crop else image


def prepare(image: np.ndarray, t: Transform) -> np.ndarray:
    """The unaugmented image: optional centre crop, then fitted to image_size."""
    return T.fit(_center(image, t), t.image_size, t.crop_fraction)


def split_examples(records: Records, t: Transform, n: int = 0) -> list:
    """(prepared image, label) of the first n examples (0: all), in storage order."""
    def example(i):
        image, label = records.get(i)
        return prepare(image, t), label
    return records.map(example, range(min(n, len(records)) if n else len(records)))


def _to_batch(examples, labelled: bool, images=None) -> dict[str, np.ndarray]:
    """The batch of (uint8 image, label) examples; `images`: their images already stacked."""
    images = np.stack([im for im, _ in examples]) if images is None else images
    batch = {"image": images.astype(np.float32) / 255.0}
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
    examples = split_examples(test, Transform.of(d), d.get("eval_examples", 0))
    return source, _to_batch(examples, layout.labelled)
