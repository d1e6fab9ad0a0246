"""Random crops of the embedded photographs, for families that learn an image-to-image map
without paired data (style transfer, texture/structure separation: the target is computed from
the crop inside the step).

Split by image, as for super-resolution (jresgen/data/photos.py): crops come from the training
photos only; evaluation uses the whole validation photos.

Batches: {"image": float32 [B, p, p, 3] in [0, 1]}, a pure function of (seed, step).
"""
import numpy as np

from jresgen.data.rows import draw_order, row_range
from jresgen.data.sr import dihedral


class PhotoCropSource:
    """Global batches of `batch_size` random `patch_size` crops, each from a uniformly chosen
    photo, with random horizontal/vertical flips and transposes."""

    def __init__(self, images: dict[str, np.ndarray], patch_size: int, batch_size: int,
                 seed: int):
        for name, image in images.items():
            if min(image.shape[:2]) < patch_size:
                raise ValueError(f"image {name} ({image.shape[1]}x{image.shape[0]}) is smaller "
                                 f"than the patch {patch_size}")
        self.images = [np.asarray(im, np.float32) for im in images.values()]
        self.patch, self.batch_size, self.seed = patch_size, batch_size, seed

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): every sample's
        numbers are drawn in order from one generator, only the asked rows are cropped."""
        rows = row_range(rows, self.batch_size)
        rng = np.random.default_rng((self.seed, step))
        p = self.patch
        out = np.empty((len(rows), p, p, 3), np.float32)
        for _, j in draw_order(rows):
            image = self.images[rng.integers(len(self.images))]
            h, w = image.shape[:2]
            y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
            flips = rng.integers(2, size=3)
            if j is not None:
                out[j] = dihedral(image[y:y + p, x:x + p], *flips)
        return {"image": out}


def build_photo_crops(config):
    """(PhotoCropSource over the training photos, {name: float32 [H, W, 3]} validation photos)
    for a config whose `data` has patch_size, train_images, valid_images (() = the default
    split of jresgen/data/photos.py)."""
    from jresgen.data.photos import SR_TRAIN_PHOTOS, SR_VALID_PHOTOS, load_photo

    d = config.data
    train_names = tuple(d.train_images) or SR_TRAIN_PHOTOS
    valid_names = tuple(d.valid_images) or SR_VALID_PHOTOS
    overlap = set(train_names) & set(valid_names)
    if overlap:
        raise ValueError(f"images in both splits: {', '.join(sorted(overlap))}")

    def load(names):
        return {n: load_photo(n).astype(np.float32) / 255.0 for n in names}
    source = PhotoCropSource(load(train_names), d.patch_size, config.batch_size, config.seed)
    return source, load(valid_names)
