"""Reading users' image files, writing images atomically, and tiling images into grids."""
import math
import os
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from jresgen.errors import UserError


def read_image(path) -> tuple[np.ndarray, np.ndarray | None, bool]:
    """(RGB float32 [H, W, 3] in [0, 1], alpha float32 [H, W] or None, was_grayscale)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"input image not found: {path}")
    try:
        with Image.open(path) as img:
            img.load()
            grayscale = img.mode in ("1", "L", "LA", "I", "I;16", "F")
            has_alpha = img.mode in ("RGBA", "LA", "PA") or "transparency" in img.info
            if img.mode in ("I", "I;16", "F"):  # 16-bit/float grayscale
                gray = np.asarray(img, np.float32)
                gray = gray / (65535.0 if gray.max() > 255 else 255.0)
                return np.repeat(np.clip(gray, 0, 1)[..., None], 3, -1), None, True
            rgba = np.asarray(img.convert("RGBA"), np.float32) / 255.0
    except (UnidentifiedImageError, OSError, ValueError) as e:
        raise UserError(f"cannot read {path} as an image: {e}") from e
    return rgba[..., :3], (rgba[..., 3] if has_alpha else None), grayscale


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


_UMASK = _umask()


def _publish(tmp, path) -> None:
    """Renames the finished temporary file to `path` with the permissions a plain open() would
    have given it: mkstemp makes files only their owner can read (0600)."""
    os.chmod(tmp, 0o666 & ~_UMASK)
    os.replace(tmp, path)


def write_image(path, image: np.ndarray) -> None:
    """Writes uint8 [H, W] or [H, W, C] to `path` (format from the suffix) via a temporary file
    in the same directory and a rename, so the file is either complete or absent."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = {2: "L", 3: {1: "L", 3: "RGB", 4: "RGBA"}.get(image.shape[-1])}[image.ndim]
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        fmt = Image.registered_extensions().get(path.suffix.lower())
        if fmt is None:
            raise UserError(f"unknown image format for {path}: use .png, .jpg, .bmp, .tif, ...")
        Image.fromarray(image, mode=mode).save(tmp, format=fmt)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_npz(path, arrays: dict[str, np.ndarray]) -> None:
    """`np.savez` through a temporary file and a rename, like `write_image`."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, **arrays)
        _publish(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def image_grid(images: np.ndarray, cols: int, zoom: int = 1, pad: int = 1) -> np.ndarray:
    """[N, H, W, C] in [0, 1] -> uint8 grid with `pad` pixels of grey between tiles, each tile
    enlarged `zoom` times by repetition (16x16 digits are too small to see otherwise)."""
    n, h, w, c = images.shape
    rows = math.ceil(n / cols)
    tiles = np.repeat(np.repeat(np.clip(images, 0, 1), zoom, axis=1), zoom, axis=2)
    th, tw = h * zoom + pad, w * zoom + pad
    grid = np.full((rows * th + pad, cols * tw + pad, c), 0.5, np.float32)
    for k, tile in enumerate(tiles):
        y, x = pad + (k // cols) * th, pad + (k % cols) * tw
        grid[y:y + h * zoom, x:x + w * zoom] = tile
    return np.round(grid * 255).astype(np.uint8)
