"""DCGAN (Radford et al. 2016: transposed convs, BatchNorm, ReLU/LeakyReLU(0.2), tanh;
non-saturating loss, Adam 2e-4 with beta1 0.5) on scikit-learn's digits at 16x16.

    jresgen train --config configs/classifier_digits.py --workdir runs/classifier_digits  # FID features
    jresgen train --config configs/dcgan_digits.py --workdir runs/dcgan_digits
    jresgen eval --workdir runs/dcgan_digits --json
"""
from common_digits import apply_variant, digits_data
from common_gan import gan_config, tiny_gan


def get_config(variant=None):
    config = gan_config("dcgan", resolution=16, channels=1, g_features=64, d_features=64,
                        z_dim=64)
    config.data = digits_data(16, resize="bilinear")
    config.evaluation.classifier_workdir = "runs/classifier_digits"
    config.gan.ema_decay = 0.995
    config.total_steps = 2000
    config.batch_size = 32
    config.log_every = 100
    config.eval_every = 500
    config.checkpoint_every = 500
    return apply_variant(config, variant, tiny_gan)
