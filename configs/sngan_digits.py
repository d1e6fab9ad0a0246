"""SNGAN (ResNet generator and spectrally normalised ResNet discriminator, hinge loss, Adam
betas (0, 0.9); 2 D steps per G step here, 5 in the paper) on scikit-learn's digits at 16x16.

    jresgen train --config configs/classifier_digits.py --workdir runs/classifier_digits  # FID features
    jresgen train --config configs/sngan_digits.py --workdir runs/sngan_digits
    jresgen eval --workdir runs/sngan_digits --json
    jresgen sample --workdir runs/sngan_digits --num 64 digits.png

Measured (2-core CPU, 1 device): 10 min 52 s wall; FID 24.3 (real-data floor 3.38), KID 15.9,
all ten classes among 450 samples (README "GANs").
"""
from common_digits import apply_variant, digits_data
from common_gan import gan_config, tiny_gan


def get_config(variant=None):
    # Narrower than CIFAR's SNGAN (256/128), batch 32 and 2 D steps per G step instead of
    # 5, so it trains in about 10 minutes on a 2-core CPU
    config = gan_config("sngan", resolution=16, channels=1, g_features=64, d_features=32,
                        z_dim=64)
    config.model.g_blocks = (64, 32)  # 8x8 and 16x16
    config.gan.n_dis = 2
    config.gan.ema_decay = 0.999  # a horizon of ~1,000 of the 6,000 steps
    for section in (config.optimizer.g, config.optimizer.d):
        section.schedule = "linear"  # to zero at the end, as SNGAN's CIFAR runs
    config.data = digits_data(16, resize="bilinear")
    config.evaluation.classifier_workdir = "runs/classifier_digits"
    config.total_steps = 6000
    config.batch_size = 32
    config.log_every = 500
    config.eval_every = 2000
    config.checkpoint_every = 2000
    return apply_variant(config, variant, tiny_gan)
