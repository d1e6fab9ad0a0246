"""A CIFAR-10-shaped TFDS dataset built here from scikit-image's photographs, written as
ArrayRecord with PNG-encoded 32x32x3 images: the real read path (ArrayRecord reading, PNG
decoding, jresgen's augmentation) without a download, for benchmarks/input_share.py.

    data_dir = build_photo_cifar(tmp_dir)   # then data.tfds_name=photo_cifar10

Imports tensorflow_datasets (the `tfds` extra); building needs no TensorFlow.
"""
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from PIL import Image

NAME = "photo_cifar10"
SIZES = {"train": 4096, "test": 512}


def _crops(count: int, seed: int):
    """`count` random 32x32 crops of the embedded photos downscaled by 4, random labels."""
    from jresgen.data.photos import SR_TRAIN_PHOTOS, load_photo
    photos = [np.asarray(Image.fromarray(load_photo(n)).reduce(4)) for n in SR_TRAIN_PHOTOS]
    rng = np.random.default_rng(seed)
    for i in range(count):
        photo = photos[i % len(photos)]
        y, x = rng.integers(photo.shape[0] - 32), rng.integers(photo.shape[1] - 32)
        yield i, photo[y:y + 32, x:x + 32], int(rng.integers(10))


class PhotoCifar10(tfds.core.GeneratorBasedBuilder, skip_registration=True):
    VERSION = tfds.core.Version("1.0.0")
    name = NAME

    def _info(self):
        return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
            "image": tfds.features.Image(shape=(32, 32, 3)),
            "label": tfds.features.ClassLabel(num_classes=10)}))

    def _split_generators(self, dl_manager):
        return {split: self._generate_examples(count, seed)
                for seed, (split, count) in enumerate(SIZES.items())}

    def _generate_examples(self, count, seed):
        for i, image, label in _crops(count, seed):  # PIL images: encoded without TensorFlow
            yield i, {"image": Image.fromarray(image), "label": label}


# TFDS looks for a builder's source inside its package through importlib_resources, which the
# `tfds` extra does not install; a top-level module name skips that lookup (as a test file's).
PhotoCifar10.__module__ = NAME


def build_photo_cifar(data_dir) -> str:
    """Prepares `photo_cifar10` (splits train, test) in data_dir; returns data_dir."""
    Path(data_dir).mkdir(parents=True, exist_ok=True)
    PhotoCifar10(data_dir=str(data_dir), file_format="array_record").download_and_prepare()
    return str(data_dir)
