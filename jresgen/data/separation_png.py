"""How a texture/structure split is stored as two 8-bit PNGs, so that they sum back to the input.

    structure.png = round(255 * structure)                     (uint8, clipped to 0..255)
    texture.png   = input.png - structure.png + 128            (uint8, clipped to 0..255)
    input         = structure.png + texture.png - 128          (in integers, per channel)

The texture is signed; it is stored offset by 128 levels (mid-grey is "no texture"). Because
the texture is computed in integers from the input's own 8-bit levels and the rounded
structure, the sum reconstructs the 8-bit input exactly, except where |input - structure| > 127
levels, where the texture saturates (`clipped` counts those values; the ROF texture of a photo
rarely comes near that bound). Inputs with more than 8 bits are reconstructed at 8 bits.
"""
import numpy as np

OFFSET = 128


def to_levels(image: np.ndarray) -> np.ndarray:
    """float [0, 1] -> int32 levels 0..255 (rounded)."""
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.int32)


def encode(image: np.ndarray, structure: np.ndarray) -> tuple[np.ndarray, np.ndarray, int]:
    """(structure uint8, texture uint8 offset by 128, number of clipped texture values) for an
    image and its structure, float [H, W, C] in [0, 1]."""
    source, base = to_levels(image), to_levels(structure)
    texture = source - base + OFFSET
    clipped = int(np.count_nonzero((texture < 0) | (texture > 255)))
    return base.astype(np.uint8), np.clip(texture, 0, 255).astype(np.uint8), clipped


def decode(structure: np.ndarray, texture: np.ndarray) -> np.ndarray:
    """The 8-bit image (uint8) that a structure/texture PNG pair sums to."""
    total = structure.astype(np.int32) + texture.astype(np.int32) - OFFSET
    return np.clip(total, 0, 255).astype(np.uint8)
