"""Classifier, GAN and VAE training on the user's images, one folder per class (torchvision's
ImageFolder and Keras' `image_dataset_from_directory` layout): `data.source = "folder"`.

    data.train_dir     TRAIN/CLASS/IMAGE: class names are the sorted sub-folder names, labels
                       their index (hidden sub-folders and loose files are ignored)
    data.valid_dir     optional, the same class sub-folders: the test split; "": a held-out
                       `data.test_fraction` of each class, chosen by `data.split_seed`
    data.image_size    the model's input size (for a GAN or VAE it must equal model.resolution
                       or model.image_size, which it defaults to)
    data.channels      1 or 3 (must equal model.channels where the model has one); colour
                       images become BT.601 luma, grayscale ones three equal channels
    data.resize        "nearest" | "bilinear" | "bicubic": how the shorter side is resized
    data.max_shift (or data.pad_crop), data.random_flip   augmentation, as the digits have

Each image is decoded once, its shorter side resized to `image_size`, centre-cropped to a
square and converted to the channel count; the split is held in memory as uint8 (a VAE's as its
`model.levels` levels), so 64x64 RGB costs 12 KB per image. Batches come from the digits'
source (jresgen/data/digits.py): sample k of the run is position k mod N of epoch k // N's
seeded permutation, a pure function of (seed, step), converted to float32 in [0, 1] per batch.
"""
from pathlib import Path

import numpy as np
from PIL import Image

from jresgen.data.digits import DigitsTrainSource, to_batch
from jresgen.data.image_folder import decode, image_files, report_skipped
from jresgen.errors import UserError

RESAMPLING = {"nearest": Image.Resampling.NEAREST, "bilinear": Image.Resampling.BILINEAR,
              "bicubic": Image.Resampling.BICUBIC}
TASKS = ("classifier", "gan", "vae")


def reads_class_folders(config) -> bool:
    """Whether a config's training images come from class folders; the folder keys set
    without `data.source=folder` are an error, not ignored."""
    if config.task not in TASKS:
        return False
    source = config.data.get("source", "embedded")
    if source != "folder":  # "embedded", or "tfds" in the public-dataset configs
        for key in ("train_dir", "valid_dir"):
            if config.data.get(key):
                raise UserError(f"data.{key} is read only with data.source=folder "
                                f"(add --config.data.source=folder)")
    return source == "folder"


def class_names(folder, role: str) -> list[str]:
    """The sorted names of `folder`'s visible sub-folders."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{role} {folder} is not a directory")
    names = sorted(p.name for p in folder.iterdir() if p.is_dir() and not p.name.startswith("."))
    if not names:
        raise UserError(f"{role} {folder} has no class sub-folders (expected "
                        f"{folder}/CLASS_NAME/IMAGE files, one sub-folder per class)")
    return names


def square(image: np.ndarray, size: int, channels: int, resize: str) -> np.ndarray:
    """uint8 [H, W, 3] -> uint8 [size, size, channels]: shorter side resized to `size`
    (untouched when it already is), centre crop, then luma when `channels` is 1."""
    pil = Image.fromarray(image)
    w, h = pil.size
    if min(w, h) != size:
        f = size / min(w, h)
        pil = pil.resize((max(size, round(w * f)), max(size, round(h * f))), RESAMPLING[resize])
        w, h = pil.size
    left, top = (w - size) // 2, (h - size) // 2
    pil = pil.crop((left, top, left + size, top + size))
    if channels == 1:  # PIL's ITU-R 601 luma: exact on images whose channels are equal
        return np.asarray(pil.convert("L"))[..., None]
    return np.asarray(pil)


def read_classes(folder, role: str, names: list[str], prepare) -> tuple[np.ndarray, np.ndarray]:
    """(uint8 images [N, S, S, C], int32 labels [N]) of every readable image under
    `folder`/NAME for the class names in order; unreadable files named in one line."""
    images, labels, skipped = [], [], []
    for label, name in enumerate(names):
        files = image_files(Path(folder) / name, f"class {name!r} of {role}")
        read = 0
        for path in files:
            image = decode(path, prepare)
            if image is None:
                skipped.append(f"{name}/{path.name}")
                continue
            images.append(image)
            labels.append(label)
            read += 1
        if not read:
            raise UserError(f"class {name!r} of {role} {folder} holds no readable image "
                            f"({', '.join(p.name for p in files)})")
    report_skipped(skipped, role, folder, any_read=True)
    return np.stack(images), np.asarray(labels, np.int32)


def held_out(labels: np.ndarray, fraction: float, seed: int) -> np.ndarray:
    """Boolean mask of the test split: round(fraction * n) of each class's n images, the first
    of a permutation seeded by (seed, class), so the split does not depend on other classes."""
    mask = np.zeros(len(labels), bool)
    for c in np.unique(labels):
        index = np.flatnonzero(labels == c)
        count = min(round(fraction * len(index)), len(index) - 1)  # keep one to train on
        mask[index[np.random.default_rng((seed, int(c))).permutation(len(index))[:count]]] = True
    return mask


def _model_value(config, data_key: str, model_keys: tuple[str, ...]):
    """The data key's value, checked against the model keys that must agree with it (a GAN's
    resolution, a VAE's image_size and channels); it defaults to the model's."""
    model_values = {k: config.model[k] for k in model_keys if k in config.model}
    value = config.data.get(data_key) or next(iter(model_values.values()), None)
    if not value:
        raise UserError(f"data.source=folder needs data.{data_key}")
    for k, v in model_values.items():
        if v != value:
            raise UserError(f"data.{data_key} is {value} but model.{k} is {v}: set both "
                            f"(--config.data.{data_key}=N --config.model.{k}=N)")
    return value


def _check_num_classes(config, names: list[str], role: str) -> None:
    wanted = config.model.get("num_classes", 0)
    if config.task == "classifier" and len(names) < 2:
        raise UserError(f"a classifier needs two classes or more; {role} has one: {names[0]}")
    if wanted and wanted != len(names):
        raise UserError(f"model.num_classes is {wanted} but {role} has {len(names)} classes "
                        f"({', '.join(names)}): add --config.model.num_classes={len(names)}")


def build_class_folders(config):
    """(train source, test batch) for `data.source = "folder"` in a classifier, GAN or VAE
    config; the test batch is {"image": float32 [N, S, S, C] in [0, 1], "label": int32 [N]}."""
    d = config.data
    if not d.get("train_dir"):
        raise UserError("data.source=folder needs data.train_dir, a folder with one sub-folder "
                        "of images per class")
    size = _model_value(config, "image_size", ("resolution", "image_size"))
    channels = _model_value(config, "channels", ("channels",))
    if channels not in (1, 3):
        raise UserError(f"data.channels must be 1 or 3, got {channels}")
    resize = d.get("resize", "bicubic")
    if resize not in RESAMPLING:
        raise UserError(f"data.resize must be one of {', '.join(RESAMPLING)}, got {resize!r}")

    names = class_names(d.train_dir, "data.train_dir")
    _check_num_classes(config, names, f"data.train_dir {d.train_dir}")
    prepare = lambda image: square(image, size, channels, resize)  # noqa: E731
    images, labels = read_classes(d.train_dir, "data.train_dir", names, prepare)
    if d.get("valid_dir"):
        valid_names = class_names(d.valid_dir, "data.valid_dir")
        if valid_names != names:
            missing = sorted(set(names) - set(valid_names))
            extra = sorted(set(valid_names) - set(names))
            raise UserError(f"data.valid_dir {d.valid_dir} has other classes than data.train_dir "
                            f"{d.train_dir}: missing {', '.join(missing) or 'none'}; extra "
                            f"{', '.join(extra) or 'none'}")
        test_images, test_labels = read_classes(d.valid_dir, "data.valid_dir", names, prepare)
    else:
        test = held_out(labels, d.get("test_fraction", 0.1), d.get("split_seed", 0))
        if not test.any():
            raise UserError(f"data.test_fraction={d.get('test_fraction', 0.1)} holds out no image "
                            f"of data.train_dir {d.train_dir}: raise it or give data.valid_dir")
        images, labels, test_images, test_labels = (images[~test], labels[~test],
                                                    images[test], labels[test])

    # A VAE's categorical likelihood has model.levels classes per pixel: store its levels.
    max_level = config.model.levels - 1 if config.task == "vae" else 255
    if max_level != 255:
        images, test_images = (np.round(x * (max_level / 255)).astype(np.uint8)
                               for x in (images, test_images))
    shift = d.get("max_shift", 0) or d.get("pad_crop", 0)  # zero-filled pad-and-crop
    source = DigitsTrainSource(images, labels, config.batch_size, config.seed, shift, max_level,
                               bool(d.get("random_flip", False)))
    return source, to_batch(test_images, test_labels, max_level)
