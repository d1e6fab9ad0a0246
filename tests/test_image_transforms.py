"""Host-side image transforms of the TFDS and folder sources (jresgen/data/image_transforms.py)."""
import numpy as np

from jresgen.data import image_transforms as T


class _Offsets:
    """An rng stand-in whose integers() returns the given offsets in turn."""

    def __init__(self, *values):
        self.values = list(values)

    def integers(self, _high):
        return self.values.pop(0)


def test_pad_crop_is_a_window_of_the_zero_padded_image():
    image = np.random.default_rng(0).integers(1, 256, (7, 5, 3)).astype(np.uint8)
    padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
    for y in range(5):
        for x in range(5):
            np.testing.assert_array_equal(T.pad_crop(image, 2, _Offsets(y, x)),
                                          padded[y:y + 7, x:x + 5])
