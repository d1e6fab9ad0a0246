"""scikit-learn's 1,797 handwritten digits (8x8 pixels, 17 intensity levels 0..16), offline.

Split: by sample, stratified by class, with a fixed seed (`train_test_split`), so every class
has the same share in both splits and the split never changes with the batch size.

Resizing to `image_size` (a multiple of 8) keeps the data discrete on the 17 levels, so a
discrete likelihood (the VAE's per-pixel categorical) has a meaning:
  "nearest":  each pixel becomes a block; the levels are unchanged.
  "bilinear": bilinear upsampling, then rounding back to the nearest of the 17 levels
              (smoother strokes; every value is still one of 0..16).
Either way the images carry only the information of the 8x8 originals; bits per dimension
are counted over the resized pixels, so they are comparable between models at one size only.

Batches: {"image": float32 [B, S, S, 1] = level / 16 in [0, 1], "label": int32 [B]}.
"""
import functools

import jax
import numpy as np

from jresgen.data import image_transforms as T
from jresgen.data.rows import row_range

LEVELS = 17  # intensities 0..16 in sklearn's digits
NUM_CLASSES = 10


def resize_levels(images: np.ndarray, size: int, method: str) -> np.ndarray:
    """uint8 levels [N, 8, 8] -> uint8 levels [N, size, size], still in 0..16."""
    n, h, w = images.shape
    if size % h:
        raise ValueError(f"digits image_size must be a multiple of {h}, got {size}")
    if method == "nearest":
        f = size // h
        return np.repeat(np.repeat(images, f, axis=1), f, axis=2)
    if method == "bilinear":
        up = jax.image.resize(images.astype(np.float32), (n, size, size), "bilinear")
        return np.clip(np.round(np.asarray(up)), 0, LEVELS - 1).astype(np.uint8)
    raise ValueError(f"digits resize must be 'nearest' or 'bilinear', got {method!r}")


@functools.lru_cache(maxsize=8)
def load_split(image_size: int, resize: str, test_fraction: float, seed: int):
    """((train levels, train labels), (test levels, test labels)); levels uint8 [N, S, S]."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    levels = digits.images.astype(np.uint8)  # already integers 0..16
    tr_x, te_x, tr_y, te_y = train_test_split(levels, digits.target, test_size=test_fraction,
                                              stratify=digits.target, random_state=seed)
    return ((resize_levels(tr_x, image_size, resize), tr_y.astype(np.int32)),
            (resize_levels(te_x, image_size, resize), te_y.astype(np.int32)))


def to_batch(levels: np.ndarray, labels: np.ndarray,
             max_level: int = LEVELS - 1) -> dict[str, np.ndarray]:
    """Integer levels [N, H, W] (one channel) or [N, H, W, C] -> float32 images in [0, 1]."""
    images = levels[..., None] if levels.ndim == 3 else levels
    return {"image": images.astype(np.float32) / max_level, "label": labels.astype(np.int32)}


class DigitsTrainSource:
    """Global batches of `batch_size` training digits; `batch(step)` is a pure function of
    (seed, step): sample k of the run is position k mod N of epoch k // N's permutation, so
    every image is seen once per epoch and a resumed run sees the same batches.

    `max_shift` > 0 translates each image by up to that many pixels in each direction
    (zero fill), `random_flip` mirrors half of them left-right: pure functions of (seed, step)
    too. The class-folder source (jresgen/data/class_folders.py) is this class on its uint8
    images: levels [N, H, W, C] with `max_level` 255 (or the VAE's levels - 1).
    """

    def __init__(self, levels: np.ndarray, labels: np.ndarray, batch_size: int, seed: int,
                 max_shift: int = 0, max_level: int = LEVELS - 1, random_flip: bool = False):
        self.levels, self.labels = levels, labels
        self.batch_size, self.seed, self.max_shift = batch_size, seed, max_shift
        self.max_level, self.random_flip = max_level, random_flip

    @functools.lru_cache(maxsize=4)
    def _permutation(self, epoch: int) -> np.ndarray:
        return np.random.default_rng((self.seed, 0, epoch)).permutation(len(self.labels))

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py)."""
        n, b = len(self.labels), self.batch_size
        rows = row_range(rows, b)
        index = np.empty(len(rows), np.int64)
        for j, i in enumerate(rows):
            k = step * b + i  # sample k of the run
            index[j] = self._permutation(k // n)[k % n]
        levels = self.levels[index]
        levels = T.random_pad_crop_flip(levels, rows, b, self.max_shift, self.random_flip,
                                        (self.seed, 1, step), (self.seed, 3, step))
        return to_batch(levels, self.labels[index], self.max_level)

    def all_images(self) -> np.ndarray:
        """Every training image once, unaugmented, in storage order: float32 [N, S, S, 1]
        (the real training split that FID/KID compare samples with)."""
        return to_batch(self.levels, self.labels, self.max_level)["image"]


def build_digits(config):
    """(train source, test batch with every test digit) for a `data.name = "digits"` config."""
    d = config.data
    (tr_x, tr_y), (te_x, te_y) = load_split(d.image_size, d.resize, d.test_fraction,
                                            d.split_seed)
    source = DigitsTrainSource(tr_x, tr_y, config.batch_size, config.seed,
                               d.get("max_shift", 0))
    return source, to_batch(te_x, te_y)
