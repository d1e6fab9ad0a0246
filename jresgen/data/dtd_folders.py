"""The texture GAN of configs/sngan_dtd.py on the user's texture images, one sub-folder per
class (the layout of DTD's own archive, dtd/images/CLASS/*.jpg): `data.source = "folder"`.

    data.train_dir     TRAIN/CLASS/IMAGE
    data.dtd_class     the sub-folder to train on; "" = every class

Patches come as from TFDS's DTD (jresgen/data/tfds_dtd.py): each image decoded once, scaled by
`data.image_scale` (never below the patch) and kept as uint8; patch i of step t from image
epoch_index(seed, N, t * B + i) at a position, quarter turn and flip drawn from (seed, t, i).
Evaluation data: {"exemplar": the first image of the first chosen class}.
"""
from pathlib import Path

import numpy as np

from jresgen.data.class_folders import class_names
from jresgen.data.image_folder import decode, image_files, report_skipped
from jresgen.data.tfds_dtd import DTDPatchSource, scaled
from jresgen.errors import UserError


class Decoded:
    """Images held in memory, with the two methods DTDPatchSource reads records through."""

    def __init__(self, images: list[np.ndarray]):
        self.images = images

    def __len__(self) -> int:
        return len(self.images)

    def get(self, index: int) -> np.ndarray:
        return self.images[int(index)]

    def map(self, fn, items) -> list:
        return [fn(item) for item in items]


def build_dtd_folders(config):
    """(DTDPatchSource, {"exemplar": float32 [H, W, 3]}) for data.name = "dtd" with
    data.source = "folder"."""
    d = config.data
    if not d.get("train_dir"):
        raise UserError("data.source=folder needs data.train_dir, a folder with one sub-folder "
                        "of texture images per class")
    names = class_names(d.train_dir, "data.train_dir")
    wanted = d.get("dtd_class", "")
    if wanted and wanted not in names:
        raise UserError(f"data.dtd_class {wanted!r} is not a sub-folder of data.train_dir "
                        f"{d.train_dir}; it has: {', '.join(names)}")
    p, scale = d.patch_size, d.get("image_scale", 1.0)
    images, skipped = [], []
    for name in [wanted] if wanted else names:
        for path in image_files(Path(d.train_dir) / name, f"class {name!r} of data.train_dir"):
            image = decode(path, lambda im: scaled(im, p, scale))
            if image is None:
                skipped.append(f"{name}/{path.name}")
            else:
                images.append(image)
    report_skipped(skipped, "data.train_dir", d.train_dir, bool(images))
    source = DTDPatchSource(Decoded(images), np.arange(len(images)), p, config.batch_size,
                            config.seed)
    return source, {"exemplar": images[0].astype(np.float32) / 255.0}
