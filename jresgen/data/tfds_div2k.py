"""DIV2K from TFDS for super-resolution: the HR images and the LR images the challenge made
with MATLAB's bicubic (TFDS config `div2k/bicubic_x{scale}`), i.e. EDSR's training data.

    data.name = "div2k"; model.scale picks bicubic_x2 | _x3 | _x4
    data.tfds_name     "" = div2k/bicubic_x{scale}; e.g. div2k/unknown_x4 for the other track
    data.data_dir      where the prepared TFDS data lies ("" = TFDS's default)
    data.patch_size    LR patch side; HR patches are patch_size * scale
    data.valid_examples  validation pairs scored at each evaluation (EDSR validated on
                       10 of the 100 during training: 0801-0810); 0 = all 100
    data.cache_images  keep every decoded training pair in memory (uint8: about 10 MB a pair
                       at x2, 8 GB for all 800); else each sample decodes its PNGs (~50 ms)
    data.decode_threads  0 = min(8, CPUs)

Batches are jresgen/data/sr.py's: {"lr": float32 [B, p, p, 3], "hr": [B, p*s, p*s, 3]} in
[0, 1], aligned crops on the LR grid with EDSR's eight-fold flips and transposes. Sample i of
step t is pair epoch_index(seed, 800, t * B + i) (each training image once per 800 samples)
cropped and flipped by a generator seeded by (seed, t, i): a pure function of (seed, step).
Evaluation data: SRPairs of whole validation images (TFDS's LR, not jresgen's bicubic).
"""
import numpy as np

from jresgen.data.rows import row_range
from jresgen.data.sr import SRPair, dihedral
from jresgen.data.tfds_records import Records, epoch_index, open_split

_CROP_TAG = 4


def aligned(example, scale: int, index: int) -> tuple[np.ndarray, np.ndarray]:
    """(LR uint8 [h, w, 3], HR uint8 [h*s, w*s, 3]): HR cropped to the LR grid (DIV2K's HR
    sides are multiples of 12, so nothing is lost); ValueError if HR is smaller."""
    lr, hr = np.asarray(example["lr"]), np.asarray(example["hr"])
    h, w = lr.shape[:2]
    if hr.shape[0] < h * scale or hr.shape[1] < w * scale:
        raise ValueError(f"DIV2K example {index}: HR {hr.shape[1]}x{hr.shape[0]} is smaller "
                         f"than x{scale} its LR {w}x{h}: is data.tfds_name the scale's?")
    return lr, hr[:h * scale, :w * scale]


class DIV2KTrainSource:
    def __init__(self, records: Records, scale: int, patch_size: int, batch_size: int,
                 seed: int):
        self.records, self.scale, self.patch = records, scale, patch_size
        self.batch_size, self.seed = batch_size, seed

    def _sample(self, step: int, i: int, index: int):
        lr, hr = self.records.get(index)
        rng = np.random.default_rng((self.seed, _CROP_TAG, step, i))
        p, s = self.patch, self.scale
        h, w = lr.shape[:2]
        if min(h, w) < p:
            raise ValueError(f"DIV2K example {index} ({w}x{h} LR) is smaller than the LR "
                             f"patch {p} (data.patch_size)")
        y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
        flips = rng.integers(2, size=3)
        return (dihedral(lr[y:y + p, x:x + p], *flips),
                dihedral(hr[y * s:(y + p) * s, x * s:(x + p) * s], *flips))

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): only their
        pairs are read and decoded."""
        rows = row_range(rows, self.batch_size)
        k = step * self.batch_size + np.asarray(rows)  # the run's sample numbers
        index = epoch_index(self.seed, len(self.records), k)
        samples = self.records.map(lambda a: self._sample(step, *a), list(zip(rows, index)))
        return {"lr": np.stack([lr for lr, _ in samples]).astype(np.float32) / 255.0,
                "hr": np.stack([hr for _, hr in samples]).astype(np.float32) / 255.0}


def build_div2k(config):
    """(DIV2KTrainSource, validation SRPairs) for data.name = "div2k"."""
    d, scale = config.data, config.model.scale
    name = d.get("tfds_name", "") or f"div2k/bicubic_x{scale}"
    threads, data_dir = d.get("decode_threads", 0), d.get("data_dir", "")

    def records(split, cache):
        source = open_split(name, split, data_dir)
        return Records(source, lambda ex, i: aligned(ex, scale, i), threads, cache)
    train = records(d.get("train_split", "") or "train", d.get("cache_images", True))
    source = DIV2KTrainSource(train, scale, d.patch_size, config.batch_size, config.seed)
    valid = records(d.get("eval_split", "") or "validation", False)
    count = min(d.get("valid_examples", 10) or len(valid), len(valid))

    def pair(i):
        lr, hr = valid.get(i)
        return SRPair(f"div2k_valid_{i:03d}", lr.astype(np.float32) / 255.0,
                      hr.astype(np.float32) / 255.0)
    return source, valid.map(pair, range(count))
