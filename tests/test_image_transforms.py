"""Host-side image transforms of the TFDS, folder and digits sources
(jresgen/data/image_transforms.py)."""
import numpy as np

from jresgen.data import image_transforms as T


def test_pad_crop_is_a_window_of_each_zero_padded_image():
    images = np.random.default_rng(0).integers(1, 256, (25, 7, 5, 3)).astype(np.uint8)
    offsets = np.array([(y, x) for y in range(5) for x in range(5)])
    out = T.pad_crop(images, 2, offsets)
    for image, (y, x), got in zip(images, offsets, out):
        padded = np.pad(image, ((2, 2), (2, 2), (0, 0)))
        np.testing.assert_array_equal(got, padded[y:y + 7, x:x + 5])
    # Batches without a channel axis (the digits' levels) too.
    np.testing.assert_array_equal(T.pad_crop(images[..., 0], 2, offsets), out[..., 0])


def test_flip_mirrors_only_the_marked_images():
    images = np.arange(3 * 2 * 4).reshape(3, 2, 4)
    out = T.flip(images, np.array([True, False, True]))
    np.testing.assert_array_equal(out[0], images[0, :, ::-1])
    np.testing.assert_array_equal(out[1], images[1])
    np.testing.assert_array_equal(out[2], images[2, :, ::-1])
