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
    data.cache_images  keep every training example, decoded and fitted to image_size, in one
                       uint8 array, filled as batches first ask for examples (CIFAR-10: 150 MB,
                       CelebA at 64: 2 GB); default: on unless random_resized_crop, which
                       crops each sample anew from the full image

Batches: {"image": float32 [B, S, S, C] in [0, 1] (uint8 / 255, so a VAE's 256 levels are
exact), "label": int32 [B]} (no "label" for CelebA). Sample i of step t is example
epoch_index(seed, N, t * B + i) of the training split (each example once per epoch), augmented
with a generator seeded by (seed, t, i): a pure function of (seed, step) whatever the device
count or thread order. Evaluation data: the whole evaluation split, {"image", "label"}, as the
embedded digits give it (none for GANs, which score samples against a classifier's data).
"""
import threading
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


class PreparedCache:
    """The training split's prepared examples (uint8 at the output size) and labels as two
    arrays, each example made once, when a batch first asks for it: after that a batch is one
    gather, not a decode per example, so the batch takes well under a fast accelerator step
    (an H100 ran a ResNet-20 CIFAR step in 3.7 ms; decoding a batch of 128 PNGs takes ~50 ms)."""

    def __init__(self, records: Records, transform: Transform):
        self.records, self.transform = records, transform
        self.images = None
        self.labels = np.zeros(len(records), np.int32)
        self.made = np.zeros(len(records), bool)
        self.lock = threading.Lock()

    def take(self, index: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        missing = np.unique(index[~self.made[index]])
        if missing.size:  # prefetch threads may make the same example twice: same values
            examples = split_examples(self.records, self.transform, missing)
            with self.lock:
                if self.images is None:  # untouched pages of np.empty cost no memory yet
                    shape = examples[0][0].shape
                    self.images = np.empty((len(self.records),) + shape, np.uint8)
                self.images[missing] = np.stack([image for image, _ in examples])
                self.labels[missing] = [label for _, label in examples]
                self.made[missing] = True
        return self.images[index], self.labels[index]

    def __getstate__(self):  # sources are copied (sweeps); locks are not copyable
        return {k: v for k, v in self.__dict__.items() if k != "lock"}

    def __setstate__(self, state):
        self.__dict__.update(state, lock=threading.Lock())


class TFDSImageSource:
    def __init__(self, records: Records, data, batch_size: int, seed: int, labelled: bool):
        self.records, self.transform, self.labelled = records, Transform.of(data), labelled
        self.batch_size, self.seed = batch_size, seed
        self.cache = PreparedCache(records, self.transform) if caches(data) else None

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
        if self.cache is not None:
            images, labels = self.cache.take(index)
        else:
            examples = self.records.map(lambda a: self._image(step, *a), list(zip(rows, index)))
            images, labels = _stacked(examples)
        images = T.random_pad_crop_flip(images, rows, self.batch_size, t.pad_crop,
                                        t.random_flip, (self.seed, _PAD_CROP_TAG, step),
                                        (self.seed, _FLIP_TAG, step))
        return _to_batch(images, labels if self.labelled else None)

    def all_images(self) -> np.ndarray:
        """Every training image once, unaugmented, in storage order: float32 [N, S, S, C]
        (the real split FID/KID compare samples with)."""
        images, _ = _stacked(split_examples(self.records, self.transform))
        return _to_batch(images, None)["image"]


def caches(data) -> bool:
    """data.cache_images (default: on unless random-resized crops); ValueError if both."""
    crops = bool(data.get("random_resized_crop", False))
    cache = bool(data.get("cache_images", not crops))
    if cache and crops:
        raise ValueError("data.cache_images keeps images at the output size, but "
                         "data.random_resized_crop crops each sample from the full image: "
                         "set one of them False")
    return cache


def _center(image, t: Transform):
    return T.center_crop(image, t.center_crop) if t.center_crop else image


def prepare(image: np.ndarray, t: Transform) -> np.ndarray:
    """The unaugmented image: optional centre crop, then fitted to image_size."""
    return T.fit(_center(image, t), t.image_size, t.crop_fraction)


def split_examples(records: Records, t: Transform, indices=None) -> list:
    """(prepared image, label) of the examples at `indices` (None: all, in storage order)."""
    def example(i):
        image, label = records.get(i)
        return prepare(image, t), label
    return records.map(example, range(len(records)) if indices is None else indices)


def _stacked(examples) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images [N, S, S, C], int32 labels [N]) of (image, label) examples."""
    return (np.stack([image for image, _ in examples]),
            np.asarray([label for _, label in examples], np.int32))


def _to_batch(images: np.ndarray, labels) -> dict[str, np.ndarray]:
    """The batch of uint8 `images` and their `labels` (None: an unlabelled dataset)."""
    batch = {"image": images.astype(np.float32) / 255.0}
    if labels is not None:
        batch["label"] = np.asarray(labels, np.int32)
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
    caches(d)  # a config error before the data is opened
    train = open_records(d, layout.train_split, layout)
    source = TFDSImageSource(train, d, config.batch_size, config.seed, layout.labelled)
    if config.task == "gan":
        return source, {}
    test = open_records(d, layout.eval_split, layout)
    n = d.get("eval_examples", 0)
    images, labels = _stacked(split_examples(test, Transform.of(d),
                                             range(min(n, len(test))) if n else None))
    return source, _to_batch(images, labels if layout.labelled else None)
