"""The seeds' SuperResolutionNet: a 3x3 conv, two 64-channel residual blocks (conv-ReLU-conv
plus identity), a 3x3 conv with the global skip, pixel-shuffle x2 and a 3x3 output conv,
trained with Adam on MSE.

    jresgen train --config configs/sr_seed_net.py --workdir runs/seed_net
"""
from common_sr import apply_variant, sr_config


def get_config(variant=None):
    config = sr_config(scale=2, num_blocks=2, features=64)
    config.model.loss = "l2"
    config.total_steps = 2000
    config.batch_size = 16
    config.learning_rate = 1e-3
    config.data.patch_size = 32
    return apply_variant(config, variant)
