"""Paired super-resolution data: aligned random LR/HR crops for training, whole images for
validation.

A train source is random-access: `batch(step)` is a pure function of (seed, step), so a resumed
run sees exactly the batches an uninterrupted one would, whatever the device count. Any source
with that method (and `batch_size`) plugs into the loop, e.g. one over a TFDS dataset.

`data.degradation` picks how LR inputs are made (jresgen/data/degradation.py): "bicubic" pairs
are made once per image and cropped; "random" crops HR and degrades each crop on the fly.
"""
from dataclasses import dataclass

import numpy as np

from jresgen.data.blas import single_threaded_blas
from jresgen.data.degradation import DEGRADATIONS, RandomDegradation
from jresgen.data.resize import degrade, mod_crop
from jresgen.data.rows import draw_order, row_range


@dataclass(frozen=True)
class SRPair:
    name: str
    lr: np.ndarray  # float32 [h, w, 3] in [0, 1], on uint8 levels
    hr: np.ndarray  # float32 [h*scale, w*scale, 3] in [0, 1]


def make_pairs(images: dict[str, np.ndarray], scale: int) -> list[SRPair]:
    """uint8 HR images -> (LR, HR) pairs; HR is cropped to a multiple of `scale`."""
    pairs = []
    for name, image in images.items():
        hr = mod_crop(image.astype(np.float32) / 255.0, scale)
        pairs.append(SRPair(name, degrade(hr, scale), hr))
    return pairs


def dihedral(image: np.ndarray, flip_h, flip_v, transpose) -> np.ndarray:
    """[H, W, C] flipped left-right, then upside down, then transposed, as asked: the eight
    symmetries of the square (EDSR's augmentation and self-ensemble)."""
    if flip_h:
        image = image[:, ::-1]
    if flip_v:
        image = image[::-1]
    return image.transpose(1, 0, 2) if transpose else image


def undo_dihedral(image: np.ndarray, flip_h, flip_v, transpose) -> np.ndarray:
    """The inverse of `dihedral` with the same arguments."""
    if transpose:
        image = image.transpose(1, 0, 2)
    if flip_v:
        image = image[::-1]
    return image[:, ::-1] if flip_h else image


class SRTrainSource:
    """Global batches of `batch_size` aligned crops: {"lr": [B, p, p, 3], "hr": [B, p*s, p*s, 3]}.

    Each crop picks an image (uniformly), a position, a horizontal flip, a vertical flip and a
    transpose (EDSR's eight-fold augmentation).
    """

    def __init__(self, pairs: list[SRPair], scale: int, patch_size: int, batch_size: int,
                 seed: int):
        for pair in pairs:
            if min(pair.lr.shape[:2]) < patch_size:
                raise ValueError(f"image {pair.name} is smaller than the LR patch {patch_size}")
        self.pairs, self.scale, self.patch = pairs, scale, patch_size
        self.batch_size, self.seed = batch_size, seed

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py). One generator
        draws every sample's numbers in order, so rows before the asked ones are drawn (a few
        integers each) but not cropped."""
        rows = row_range(rows, self.batch_size)
        rng = np.random.default_rng((self.seed, step))
        p, s = self.patch, self.scale
        lrs = np.empty((len(rows), p, p, 3), np.float32)
        hrs = np.empty((len(rows), p * s, p * s, 3), np.float32)
        for _, j in draw_order(rows):
            pair = self.pairs[rng.integers(len(self.pairs))]
            h, w = pair.lr.shape[:2]
            y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
            flips = rng.integers(2, size=3)
            if j is not None:
                lr = pair.lr[y:y + p, x:x + p]
                hr = pair.hr[y * s:(y + p) * s, x * s:(x + p) * s]
                lrs[j], hrs[j] = dihedral(lr, *flips), dihedral(hr, *flips)
        return {"lr": lrs, "hr": hrs}


class DegradingTrainSource:
    """Global batches like SRTrainSource's, each LR crop made from its HR crop by a degradation
    drawn for that sample (Real-ESRGAN's on-the-fly pipeline).

    Sample i of step t depends only on (seed, t, i): it does not change with the batch size,
    the device count or the order samples are made in. The HR crop carries `margin` extra LR
    pixels on each side, so mirrored borders of blur and resize kernels stay outside the kept
    centre.
    """

    def __init__(self, images: dict[str, np.ndarray], degradation: RandomDegradation,
                 patch_size: int, batch_size: int, seed: int):
        self.degradation, self.scale = degradation, degradation.scale
        self.patch, self.margin = patch_size, degradation.margin()
        self.batch_size, self.seed = batch_size, seed
        s, crop = self.scale, patch_size + 2 * self.margin
        self.images = [mod_crop(img.astype(np.float32) / 255.0, s) for img in images.values()]
        for name, img in zip(images, self.images):
            if min(img.shape[:2]) < crop * s:
                raise ValueError(f"image {name} is smaller than the HR crop {crop * s} "
                                 f"(LR patch {patch_size} plus a margin of {self.margin})")

    def sample(self, step: int, index: int) -> tuple[np.ndarray, np.ndarray]:
        """(LR [p, p, 3], HR [p*s, p*s, 3]) of sample `index` of batch `step`."""
        rng = np.random.default_rng((self.seed, step, index))
        s, p, m = self.scale, self.patch, self.margin
        crop = (p + 2 * m) * s
        image = self.images[rng.integers(len(self.images))]
        # Crops start on the LR grid, as in the bicubic source.
        y = rng.integers((image.shape[0] - crop) // s + 1) * s
        x = rng.integers((image.shape[1] - crop) // s + 1) * s
        hr = dihedral(image[y:y + crop, x:x + crop], *rng.integers(2, size=3))
        lr = self.degradation(hr, rng)
        return lr[m:m + p, m:m + p], hr[m * s:(m + p) * s, m * s:(m + p) * s]

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): only those
        samples are cropped and degraded."""
        # Tiny matrix products: BLAS threads only contend with XLA's for the same cores.
        with single_threaded_blas():
            samples = [self.sample(step, i) for i in row_range(rows, self.batch_size)]
        return {"lr": np.stack([lr for lr, _ in samples]),
                "hr": np.stack([hr for _, hr in samples])}


def train_source(images: dict[str, np.ndarray], data, scale: int, batch_size: int, seed: int):
    """The train source for `data.degradation` over uint8 HR `images` (ValueError if the
    config does not fit)."""
    kind = data.get("degradation", "bicubic")  # work dirs from before the key existed
    if kind == "bicubic":
        return SRTrainSource(make_pairs(images, scale), scale, data.patch_size, batch_size, seed)
    if kind == "random":
        return DegradingTrainSource(images, RandomDegradation(data.random, scale),
                                    data.patch_size, batch_size, seed)
    raise ValueError(f"data.degradation must be one of {', '.join(DEGRADATIONS)}, got {kind!r}")
