"""Photographs that ship inside scikit-image, split by image (never by crop).

The stereo motorcycle pair is two views of one scene, so both halves stay in one split.
`colorwheel` is synthetic and left out.
"""
import numpy as np

SR_TRAIN_PHOTOS = ("astronaut", "rocket", "hubble_deep_field", "immunohistochemistry",
                   "retina", "motorcycle_left", "motorcycle_right")
SR_VALID_PHOTOS = ("chelsea", "coffee")
ALL_PHOTOS = SR_TRAIN_PHOTOS + SR_VALID_PHOTOS


def load_photo(name: str) -> np.ndarray:
    """An RGB uint8 photo [H, W, 3] from skimage.data."""
    import skimage.data

    if name in ("motorcycle_left", "motorcycle_right"):
        left, right, _ = skimage.data.stereo_motorcycle()
        return left if name == "motorcycle_left" else right
    if name not in ALL_PHOTOS:
        raise ValueError(f"unknown photo {name!r}; choose from {', '.join(ALL_PHOTOS)}")
    return getattr(skimage.data, name)()
