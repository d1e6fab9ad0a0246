"""Paired super-resolution data: aligned random LR/HR crops for training, whole images for
validation.

A train source is random-access: `batch(step)` is a pure function of (seed, step), so a resumed
run sees exactly the batches an uninterrupted one would, whatever the device count. Any source
with that method (and `batch_size`) plugs into the loop, e.g. one over a TFDS dataset.
"""
from dataclasses import dataclass

import numpy as np

from jresgen.data.resize import degrade, mod_crop


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

    def batch(self, step: int) -> dict[str, np.ndarray]:
        rng = np.random.default_rng((self.seed, step))
        p, s = self.patch, self.scale
        lrs = np.empty((self.batch_size, p, p, 3), np.float32)
        hrs = np.empty((self.batch_size, p * s, p * s, 3), np.float32)
        for i in range(self.batch_size):
            pair = self.pairs[rng.integers(len(self.pairs))]
            h, w = pair.lr.shape[:2]
            y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
            lr = pair.lr[y:y + p, x:x + p]
            hr = pair.hr[y * s:(y + p) * s, x * s:(x + p) * s]
            flip_h, flip_v, transpose = rng.integers(2, size=3)
            if flip_h:
                lr, hr = lr[:, ::-1], hr[:, ::-1]
            if flip_v:
                lr, hr = lr[::-1], hr[::-1]
            if transpose:
                lr, hr = lr.transpose(1, 0, 2), hr.transpose(1, 0, 2)
            lrs[i], hrs[i] = lr, hr
        return {"lr": lrs, "hr": hrs}
