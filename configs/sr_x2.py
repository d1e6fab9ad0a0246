"""Super-resolution x2 on the photographs shipped in scikit-image: jresgen's main job.

A small EDSR (no norm, L1 loss) that learns the residual over bicubic upsampling, sized to
train in under 10 minutes on a 2-core CPU.

    jresgen train --config configs/sr_x2.py --workdir runs/sr_x2
    jresgen eval --workdir runs/sr_x2
"""
from common_sr import apply_variant, sr_config


def get_config(variant=None):
    config = sr_config(scale=2, num_blocks=4, features=32)
    config.model.image_skip = "bicubic"
    config.total_steps = 1500
    config.batch_size = 16
    config.learning_rate = 1e-3
    config.log_every = 50
    config.eval_every = 500
    config.checkpoint_every = 500
    config.data.patch_size = 32
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 100
    return apply_variant(config, variant)
