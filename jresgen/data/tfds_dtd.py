"""The Describable Textures Dataset (Cimpoi et al. 2014) from TFDS, for the texture GAN:
random square patches of the training images of one class (or of all 47).

    data.name = "dtd"
    data.dtd_class     a DTD class name ("honeycombed", "banded", ...); "" = every class
    data.patch_size    patch side (= the model's resolution: what D sees)
    data.image_scale   each image resized by this factor first (< 1: a patch spans more of
                       the texture's structure), like texture_patches' exemplar_scale
    data.data_dir, data.tfds_name ("" = dtd), data.decode_threads

Selecting a class reads every training example once to learn the labels (TFDS decodes the
image with the label: ~10 s for DTD's 1,880 training images). The chosen images are decoded
and scaled once and kept (uint8; all of DTD's training split takes about 1.5 GB).

Batches are texture_patches': {"image": float32 [B, P, P, 3] in [0, 1]}, patch i of step t
from image epoch_index(seed, N, t * B + i) at a position, quarter turn and flip drawn from
(seed, t, i): a pure function of (seed, step). Evaluation data: {"exemplar": the first chosen
image}, the reference of the texture GAN's Gram distance.
"""
import numpy as np

from jresgen.data import image_transforms as T
from jresgen.data.rows import row_range
from jresgen.data.tfds_records import Records, epoch_index, open_split
from jresgen.errors import UserError

_PATCH_TAG = 5


class DTDPatchSource:
    def __init__(self, records: Records, indices: np.ndarray, patch_size: int,
                 batch_size: int, seed: int):
        self.records, self.indices, self.patch = records, indices, patch_size
        self.batch_size, self.seed = batch_size, seed

    def _patch(self, step: int, i: int, index: int) -> np.ndarray:
        image = self.records.get(index)
        rng = np.random.default_rng((self.seed, _PATCH_TAG, step, i))
        p, (h, w) = self.patch, image.shape[:2]
        y, x = rng.integers(h - p + 1), rng.integers(w - p + 1)
        patch = np.rot90(image[y:y + p, x:x + p], rng.integers(4))
        return patch[:, ::-1] if rng.integers(2) else patch

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py): only their
        images are read and decoded (once: they are kept)."""
        rows = row_range(rows, self.batch_size)
        k = step * self.batch_size + np.asarray(rows)
        index = self.indices[epoch_index(self.seed, len(self.indices), k)]
        patches = self.records.map(lambda a: self._patch(step, *a), list(zip(rows, index)))
        return {"image": np.stack(patches).astype(np.float32) / 255.0}


def _class_indices(split, wanted: str) -> np.ndarray:
    """Indices of the examples of class `wanted` (all when "")."""
    if not wanted:
        return np.arange(len(split))
    names = split.dataset_info.features["label"].names
    if wanted not in names:
        raise UserError(f"data.dtd_class {wanted!r} is not a DTD class; known: "
                        f"{', '.join(names)}")
    label = names.index(wanted)
    return np.asarray([i for i in range(len(split)) if int(split[i]["label"]) == label])


def scaled(image: np.ndarray, patch: int, scale: float) -> np.ndarray:
    """uint8 [H, W, 3] resized by `scale`, but never smaller than the patch: small and odd
    images still give whole patches."""
    h, w = image.shape[:2]
    f = max(scale, patch / min(h, w))
    return T.resize(image, max(patch, round(h * f)), max(patch, round(w * f)))


def build_dtd(config):
    """(DTDPatchSource, {"exemplar": float32 [H, W, 3]}) for data.name = "dtd"."""
    d = config.data
    p, scale = d.patch_size, d.get("image_scale", 1.0)

    def make(example, _):
        return scaled(T.as_channels(np.asarray(example["image"]), 3), p, scale)
    split = open_split(d.get("tfds_name", "") or "dtd", d.get("train_split", "") or "train",
                       d.get("data_dir", ""))
    indices = _class_indices(split, d.get("dtd_class", ""))
    if not len(indices):
        raise UserError(f"no DTD training image of class {d.get('dtd_class')!r}")
    records = Records(split, make, d.get("decode_threads", 0), cache=True)
    source = DTDPatchSource(records, indices, p, config.batch_size, config.seed)
    return source, {"exemplar": records.get(indices[0]).astype(np.float32) / 255.0}
