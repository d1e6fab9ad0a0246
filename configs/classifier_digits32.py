"""LeNet-style CNN on scikit-learn's digits resized to 32x32 (bilinear, 17 levels kept): the
feature network of the 32x32 generative configs' FID/KID (their data section is the same
`digits_data(32, resize="bilinear")`; README "Generative evaluation"). Everything else is
configs/classifier_digits.py's.

    jresgen train --config configs/classifier_digits32.py --workdir runs/classifier_digits32
    jresgen eval --workdir runs/classifier_digits32 --json

Measured (2 CPU cores shared with other jobs, load ~16, 1 device): 100.00% test accuracy
(450/450) in 1,620 s wall (about 3 min on a quiet machine, judging by the 16x16 config's speed).
"""
import classifier_digits


def get_config(variant=None):
    config = classifier_digits.get_config(variant)
    config.data.image_size = 32
    # The 16x16 config's one-pixel translations at twice the resolution. Training-time
    # augmentation only: the FID/KID data check compares the images, not max_shift.
    config.data.max_shift = 2 * config.data.max_shift
    return config
