"""Texture exemplars and style images: scikit-image's built-in textures by name, or a user's
image file (PNG/JPEG/..., grayscale, RGB or RGBA, any size) through the same loader.

    image, grayscale = load_exemplar("brick")          # float32 [H, W, 3] in [0, 1]
    image, grayscale = load_exemplar("my_texture.png")
    image, grayscale = load_exemplar("brick", 0.5)     # [H/2, W/2, 3], Lanczos (antialiased)

A grayscale source is returned as three equal channels with `grayscale=True`, so callers can
work in RGB and write a grayscale result back; an alpha channel is dropped (textures are opaque).
"""
from pathlib import Path

import numpy as np

from jresgen.errors import UserError

# Built-in names -> skimage.data functions (all grayscale textures but for the photos).
BUILTIN_TEXTURES = ("brick", "grass", "gravel")
BUILTIN_PHOTOS = ("astronaut", "chelsea", "coffee", "rocket", "hubble_deep_field",
                  "immunohistochemistry", "retina", "colorwheel")
BUILTIN = BUILTIN_TEXTURES + BUILTIN_PHOTOS


def load_builtin(name: str) -> np.ndarray:
    """uint8 [H, W] or [H, W, 3] from skimage.data."""
    import skimage.data

    if name not in BUILTIN:
        raise UserError(f"unknown built-in image {name!r}; choose one of {', '.join(BUILTIN)} "
                        f"or give an image file")
    return np.asarray(getattr(skimage.data, name)())


def load_exemplar(name_or_path: str, scale: float = 1.0) -> tuple[np.ndarray, bool]:
    """(RGB float32 [H, W, 3] in [0, 1], was_grayscale) for a built-in name or a file path,
    resized by `scale` (`scale_exemplar`)."""
    image, grayscale = _read_exemplar(name_or_path)
    return scale_exemplar(image, scale), grayscale


def _read_exemplar(name_or_path: str) -> tuple[np.ndarray, bool]:
    from jresgen.data.image_io import read_image

    if str(name_or_path) in BUILTIN:
        image = load_builtin(str(name_or_path)).astype(np.float32) / 255.0
        grayscale = image.ndim == 2
        if grayscale:
            image = np.repeat(image[..., None], 3, axis=-1)
        return image[..., :3], grayscale
    if not Path(name_or_path).exists():
        raise UserError(f"{name_or_path} is neither an image file nor a built-in image "
                        f"({', '.join(BUILTIN)})")
    rgb, _, grayscale = read_image(name_or_path)
    return rgb, grayscale


def scale_exemplar(image: np.ndarray, scale: float) -> np.ndarray:
    """float32 [H, W, C] in [0, 1] resized by `scale` (Lanczos, so antialiased when shrinking;
    via uint8, the exemplars' own precision); `scale` 1 returns `image` unchanged. A texture
    model's receptive fields and patches are fixed in pixels: shrinking the exemplar makes
    them span more of its structure (whole bricks) at the cost of its finest detail."""
    if scale <= 0:
        raise UserError(f"data.exemplar_scale must be positive, got {scale}")
    if scale == 1.0:
        return image
    from PIL import Image

    h, w = image.shape[:2]
    size = (max(1, round(w * scale)), max(1, round(h * scale)))
    u8 = np.round(np.clip(image, 0, 1) * 255).astype(np.uint8)
    pil = Image.fromarray(u8[..., 0] if u8.shape[-1] == 1 else u8)
    out = np.asarray(pil.resize(size, Image.Resampling.LANCZOS), np.float32) / 255
    return out.reshape(size[1], size[0], image.shape[-1])
