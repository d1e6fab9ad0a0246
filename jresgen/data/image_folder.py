"""A folder of the user's image files, decoded into memory: the SR folder source's train and
validation images (jresgen/data/sr_folders.py), `jresgen eval --images`, and each class of the
class-folder source (jresgen/data/class_folders.py).

Files are read as `jresgen upscale` reads them (`image_io.read_image`: RGB, grayscale as three
equal channels, RGBA without its alpha) and rounded to uint8, as the embedded photos are. Every
image is decoded once and held in memory. Sub-folders and hidden files are ignored; files that
are not readable images are skipped and named in one line on stderr.
"""
import sys
from pathlib import Path

import numpy as np

from jresgen.data.image_io import read_image
from jresgen.data.resize import to_uint8
from jresgen.errors import UserError


def image_files(folder, role: str) -> list[Path]:
    """The files of `folder` in file-name order, hidden ones left out; UserError when it is not
    a directory or holds none."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UserError(f"{role} {folder} is not a directory")
    files = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"{role} {folder} holds no image files")
    return files


def decode(path, prepare=None):
    """uint8 [H, W, 3] of an image file (through `prepare`, e.g. a resize, when given), or None
    when it is not a readable image."""
    try:
        rgb, _, _ = read_image(path)
    except UserError:
        return None
    image = to_uint8(rgb)
    return image if prepare is None else prepare(image)


def report_skipped(skipped: list[str], role: str, folder, any_read: bool) -> None:
    """Names the unreadable files in one line on stderr; UserError when nothing was read."""
    if not skipped:
        return
    message = (f"skipped {len(skipped)} unreadable file(s) in {role} {folder}: "
               f"{', '.join(skipped)}")
    if not any_read:
        raise UserError(f"{role} {folder} holds no readable image ({message})")
    print(f"jresgen: {message}", file=sys.stderr, flush=True)


def read_folder(folder, role: str) -> dict[str, np.ndarray]:
    """{file name: uint8 [H, W, 3]} of every readable image in `folder`, in file-name order
    (the order a train source draws from). `role` names the folder in errors, e.g.
    "data.train_dir"."""
    images, skipped = {}, []
    for path in image_files(folder, role):
        image = decode(path)
        if image is None:
            skipped.append(path.name)
        else:
            images[path.name] = image
    report_skipped(skipped, role, folder, bool(images))
    return images
