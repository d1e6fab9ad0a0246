"""Super-resolution training on the user's folders of images (DIV2K's layout, as BasicSR users
keep their data): `data.source = "folder"`.

    data.train_dir     HR training images, any image files (jresgen/data/image_folder.py)
    data.train_lr_dir  optional: their LR images, the same file names, each HR/scale in size
                       (HR is cropped to a multiple of the scale first); else LR is made by
                       `data.degradation` ("bicubic" or "random"), as for the embedded photos
    data.valid_dir     HR validation images; empty: the built-in validation photos

Every image is decoded once when the source is built (at each `train` start or resume, and
by `eval` without `--images`) and held in memory as float32, like the embedded photos: 12 bytes
per HR pixel, plus 12/scale² for a bicubic or paired LR image; a 2040x1356 image (DIV2K's
common size) takes 41 MB at x2, so DIV2K's 800 training images need some 33 GB of host memory.
Batches come from jresgen/data/sr.py's sources, the same pure function of (seed, step) (and
sample index) as for the embedded photos: the same images give the same batches.
"""
import hashlib

from jresgen.data.image_folder import read_folder
from jresgen.data.sr import SRPair, SRTrainSource, make_pairs, train_source
from jresgen.errors import UserError

FOLDER_KEYS = ("train_dir", "train_lr_dir", "valid_dir")


def source_of(data, default: str = "embedded") -> str:
    """`data.source`, checked against the folder keys set beside it. `default` is the config's
    other source: "embedded" (the photos) or "tfds" (DIV2K)."""
    source = data.get("source", default)  # work dirs from before the key existed
    sources = (default, "folder")
    if source not in sources:
        raise UserError(f"data.source must be one of {', '.join(sources)}, got {source!r}")
    set_keys = [k for k in FOLDER_KEYS if data.get(k)]
    if source == default and set_keys:
        raise UserError(f"data.{set_keys[0]} is read only with data.source=folder "
                        f"(add --config.data.source=folder)")
    if source == "folder" and not data.get("train_dir"):
        raise UserError("data.source=folder needs data.train_dir, a folder of HR images")
    return source


def paired(hr_images: dict, lr_images: dict, scale: int, lr_dir) -> list[SRPair]:
    """(LR, HR) pairs of uint8 images with the same file names; HR is cropped to a multiple of
    `scale`, whose size LR must then have exactly."""
    pairs = []
    for name in sorted(set(hr_images) | set(lr_images)):
        if name not in lr_images:
            raise UserError(f"data.train_lr_dir {lr_dir} has no image {name} (LR images need "
                            f"the HR file names)")
        if name not in hr_images:
            raise UserError(f"data.train_lr_dir {lr_dir} has {name}, which data.train_dir lacks")
        (hr_pair,) = make_pairs({name: hr_images[name]}, scale)
        h, w = hr_pair.hr.shape[:2]
        lr = lr_images[name]
        if lr.shape[:2] != (h // scale, w // scale):
            raise UserError(f"LR image {name} is {lr.shape[1]}x{lr.shape[0]}; its HR image "
                            f"({w}x{h}) needs {w // scale}x{h // scale} at x{scale}")
        pairs.append(SRPair(name, lr.astype("float32") / 255.0, hr_pair.hr))
    return pairs


def _check_disjoint(train: dict, valid: dict) -> None:
    """Split by image: the same pixels in both splits (under any names) is an error."""
    def key(image):
        return hashlib.sha1(repr(image.shape).encode() + image.tobytes()).digest()
    valid_keys = {key(image) for image in valid.values()}
    both = [name for name, image in train.items() if key(image) in valid_keys]
    if both:
        raise UserError(f"images in both splits (data.train_dir and validation): "
                        f"{', '.join(both)}")


def build_sr_folders(config):
    """(train source, validation pairs) for `data.source = "folder"`."""
    from jresgen.data.photos import SR_VALID_PHOTOS, load_photo

    d, scale = config.data, config.model.scale
    train = read_folder(d.train_dir, "data.train_dir")
    if d.get("valid_dir"):
        valid = read_folder(d.valid_dir, "data.valid_dir")
    else:
        valid = {n: load_photo(n) for n in tuple(d.get("valid_images", ())) or SR_VALID_PHOTOS}
    _check_disjoint(train, valid)
    try:
        if d.get("train_lr_dir"):
            if d.get("degradation", "bicubic") != "bicubic":
                raise UserError(f"data.train_lr_dir gives the LR images: data.degradation "
                                f"must be 'bicubic' with it, got {d.degradation!r}")
            lr = read_folder(d.train_lr_dir, "data.train_lr_dir")
            source = SRTrainSource(paired(train, lr, scale, d.train_lr_dir), scale,
                                   d.patch_size, config.batch_size, config.seed)
        else:
            source = train_source(train, d, scale, config.batch_size, config.seed)
        return source, make_pairs(valid, scale)
    except ValueError as e:  # an image smaller than the patch, a bad data.random range
        raise UserError(str(e)) from e
