"""Random square patches of one texture exemplar, for the fully convolutional texture GAN.

The exemplar is a built-in name (scikit-image's `brick`, `grass`, `gravel`) or an image file
(jresgen/data/exemplars.py), optionally downscaled by `data.exemplar_scale` so the patch covers
more of its structure. Patch k of the run comes from the position and dihedral transform
(flips and 90-degree turns, which a stationary texture does not mind) drawn from
(seed, step): a pure function of (seed, step) like every source.

Batches: {"image": float32 [B, P, P, C] in [0, 1]}, C = 1 for a grayscale exemplar.
"""
import numpy as np

from jresgen.data.exemplars import load_exemplar
from jresgen.data.rows import row_range


def prepare_exemplar(name: str, scale: float) -> np.ndarray:
    """float32 [H, W, C] in [0, 1]; C = 1 when the exemplar is grayscale."""
    image, grayscale = load_exemplar(name, scale)
    return image[..., :1] if grayscale else image


class TexturePatchSource:
    def __init__(self, exemplar: np.ndarray, patch_size: int, batch_size: int, seed: int):
        h, w = exemplar.shape[:2]
        if patch_size > min(h, w):
            raise ValueError(f"patch_size {patch_size} exceeds the exemplar ({w}x{h})")
        self.exemplar, self.patch_size = exemplar, patch_size
        self.batch_size, self.seed = batch_size, seed

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): positions and
        transforms are drawn for the whole batch, patches cut for the asked rows."""
        rng = np.random.default_rng((self.seed, 2, step))
        p = self.patch_size
        h, w = self.exemplar.shape[:2]
        ys = rng.integers(0, h - p + 1, self.batch_size)
        xs = rng.integers(0, w - p + 1, self.batch_size)
        turns, flips = rng.integers(0, 4, self.batch_size), rng.integers(0, 2, self.batch_size)
        patches = []
        for i in row_range(rows, self.batch_size):
            patch = np.rot90(self.exemplar[ys[i]:ys[i] + p, xs[i]:xs[i] + p], turns[i])
            patches.append(patch[:, ::-1] if flips[i] else patch)
        return {"image": np.ascontiguousarray(np.stack(patches), np.float32)}


def build_texture_patches(config):
    """(train source, {"exemplar": [H, W, C]}) for `data.name = "texture_patches"`."""
    d = config.data
    exemplar = prepare_exemplar(d.exemplar, d.exemplar_scale)
    return (TexturePatchSource(exemplar, d.patch_size, config.batch_size, config.seed),
            {"exemplar": exemplar})
