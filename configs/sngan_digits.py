"""SNGAN (ResNet generator and spectrally normalised ResNet discriminator, hinge loss, 5 D
steps per G step, Adam betas (0, 0.9)) on scikit-learn's digits at 16x16.

    jresgen train --config configs/classifier_digits.py --workdir runs/classifier_digits  # FID features
    jresgen train --config configs/sngan_digits.py --workdir runs/sngan_digits
    jresgen eval --workdir runs/sngan_digits --json
    jresgen sample --workdir runs/sngan_digits --num 64 digits.png
"""
from common_digits import apply_variant, digits_data
from common_gan import gan_config, tiny_gan


def get_config(variant=None):
    # Narrower than CIFAR's SNGAN (256/128), batch 32 and 2 D steps per G step instead of
    # 5, so it trains in minutes on a CPU
    config = gan_config("sngan", resolution=16, channels=1, g_features=64, d_features=32,
                        z_dim=64)
    config.model.g_blocks = (64, 32)  # 8x8 and 16x16
    config.gan.n_dis = 2
    config.gan.ema_decay = 0.995  # a horizon of ~200 of the 1,500 steps
    config.data = digits_data(16, resize="bilinear")
    config.evaluation.classifier_workdir = "runs/classifier_digits"
    config.total_steps = 1500
    config.batch_size = 32
    config.log_every = 100
    config.eval_every = 500
    config.checkpoint_every = 500
    return apply_variant(config, variant, tiny_gan)
