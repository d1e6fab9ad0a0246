"""Per-image transforms of uint8 [H, W, C] arrays for the public-dataset sources: the
crops, resizes and flips that ImageNet/CIFAR/CelebA recipes use. Randomness comes from the
numpy Generator passed in, so a sample stays a pure function of its seed."""
import math

import numpy as np
from PIL import Image


def as_channels(image: np.ndarray, channels: int) -> np.ndarray:
    """[H, W] / [H, W, 1|3|4] -> [H, W, channels] (gray repeated; alpha dropped; RGB -> luma)."""
    if image.ndim == 2:
        image = image[..., None]
    c = image.shape[-1]
    if c == channels:
        return image
    if c == 4:
        image, c = image[..., :3], 3
    if channels == 3 and c == 1:
        return np.repeat(image, 3, axis=-1)
    if channels == 1 and c == 3:
        return np.asarray(Image.fromarray(image).convert("L"))[..., None]
    if c == channels:
        return image
    raise ValueError(f"cannot make {channels} channels of a {c}-channel image")


def resize(image: np.ndarray, height: int, width: int) -> np.ndarray:
    """Bilinear (antialiased when shrinking, as PIL does), uint8 in and out."""
    if image.shape[:2] == (height, width):
        return image
    pil = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    out = np.asarray(pil.resize((width, height), Image.Resampling.BILINEAR))
    return out[..., None] if out.ndim == 2 else out


def center_crop(image: np.ndarray, size: int) -> np.ndarray:
    """The central size x size square (smaller sides are kept whole)."""
    h, w = image.shape[:2]
    ch, cw = min(size, h), min(size, w)
    y, x = (h - ch) // 2, (w - cw) // 2
    return image[y:y + ch, x:x + cw]


def fit(image: np.ndarray, size: int, crop_fraction: float = 1.0) -> np.ndarray:
    """Shorter side resized to size / crop_fraction, then the central size x size square:
    ImageNet's evaluation transform at crop_fraction 0.875; at 1.0 a square image is only
    resized."""
    h, w = image.shape[:2]
    short = max(size, round(size / crop_fraction))
    scale = short / min(h, w)
    image = resize(image, max(short, round(h * scale)), max(short, round(w * scale)))
    return center_crop(image, size)


def random_resized_crop(image: np.ndarray, size: int, rng, area=(0.08, 1.0),
                        ratio=(3 / 4, 4 / 3)) -> np.ndarray:
    """Inception-style crop (Szegedy et al. 2015, ResNet's ImageNet training): a crop of
    `area` of the image with aspect ratio in `ratio` (log-uniform), resized to size x size;
    after ten misses, the central square."""
    h, w = image.shape[:2]
    for _ in range(10):
        target = h * w * rng.uniform(*area)
        aspect = math.exp(rng.uniform(math.log(ratio[0]), math.log(ratio[1])))
        cw, ch = round(math.sqrt(target * aspect)), round(math.sqrt(target / aspect))
        if 0 < cw <= w and 0 < ch <= h:
            y, x = rng.integers(h - ch + 1), rng.integers(w - cw + 1)
            return resize(image[y:y + ch, x:x + cw], size, size)
    return fit(image, size)


def pad_crop(images: np.ndarray, pad: int, offsets: np.ndarray) -> np.ndarray:
    """Each image of a batch [B, H, W, ...] zero-padded by `pad` pixels and cropped back to its
    size at its offset (dy, dx) in 0..2*pad (`offsets` [B, 2]): He et al.'s CIFAR augmentation,
    for the whole batch in one gather (a Python loop over examples cost more than the copy)."""
    b, h, w = images.shape[:3]
    padded = np.pad(images, ((0, 0), (pad, pad), (pad, pad)) + ((0, 0),) * (images.ndim - 3))
    ys = offsets[:, :1] + np.arange(h)  # [B, H]: the rows each image keeps
    xs = offsets[:, 1:] + np.arange(w)
    return padded[np.arange(b)[:, None, None], ys[:, :, None], xs[:, None, :]]


def flip(images: np.ndarray, mirrored: np.ndarray) -> np.ndarray:
    """The images of a batch [B, H, W, ...] where `mirrored` [B] is true, mirrored left-right."""
    where = mirrored.reshape((-1,) + (1,) * (images.ndim - 1))
    return np.where(where, images[:, :, ::-1], images)


def random_pad_crop_flip(images: np.ndarray, rows, batch_size: int, pad: int, mirror: bool,
                         pad_seed, flip_seed) -> np.ndarray:
    """The `rows` (a row_range) of a global batch, pad-cropped at offsets and mirrored where
    drawn for the whole batch from generators seeded `pad_seed` and `flip_seed`, so a row's
    augmentation does not depend on which other rows are built; `pad` 0 / `mirror` False skip
    that part."""
    pick = np.asarray(rows)
    if pad:
        offsets = np.random.default_rng(pad_seed).integers(0, 2 * pad + 1, size=(batch_size, 2))
        images = pad_crop(images, pad, offsets[pick])
    if mirror:
        mirrored = np.random.default_rng(flip_seed).integers(0, 2, batch_size).astype(bool)
        images = flip(images, mirrored[pick])
    return images
