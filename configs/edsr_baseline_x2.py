"""EDSR-baseline x2 (Lim et al. 2017): 16 residual blocks x 64 features, no BatchNorm,
residual scaling 1, L1 loss, 48x48 LR patches, batch 16, Adam (0.9, 0.999, eps 1e-8), learning
rate 1e-4 halved every 200k of 300k steps (the paper's DIV2K schedule). Sized for accelerators;
on the embedded photographs it is a stand-in until a DIV2K source is configured.

    jresgen train --config configs/edsr_baseline_x2.py --workdir runs/edsr_x2
"""
from common_sr import apply_variant, sr_config


def get_config(variant=None):
    config = sr_config(scale=2, num_blocks=16, features=64)
    config.total_steps = 300_000
    config.batch_size = 16
    config.learning_rate = 1e-4
    config.log_every = 100
    config.eval_every = 10_000
    config.checkpoint_every = 10_000
    config.data.patch_size = 48
    config.optimizer.schedule = "step"
    config.optimizer.decay_boundaries = (2 / 3,)
    config.optimizer.decay_factor = 0.5
    return apply_variant(config, variant)
