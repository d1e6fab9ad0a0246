"""Class-conditional SNGAN on scikit-learn's digits at 16x16: conditional BatchNorm in the
ResNet generator, projection discriminator (Miyato & Koyama 2018); otherwise sngan_digits.

    jresgen train --config configs/classifier_digits.py --workdir runs/classifier_digits  # FID features
    jresgen train --config configs/sngan_digits_cond.py --workdir runs/sngan_digits_cond
    jresgen eval --workdir runs/sngan_digits_cond --json
    jresgen sample --workdir runs/sngan_digits_cond --num 64 --class 7 sevens.png
"""
import sngan_digits
from common_digits import apply_variant
from common_gan import tiny_gan


def get_config(variant=None):
    config = sngan_digits.get_config()
    config.model.num_classes = 10
    return apply_variant(config, variant, tiny_gan)
