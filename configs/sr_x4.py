"""Super-resolution x4 on the embedded photographs: the sr_x2 recipe at scale 4 (two x2
pixel-shuffle stages). x4 is harder; expect a smaller gain over bicubic in the same time.

    jresgen train --config configs/sr_x4.py --workdir runs/sr_x4
"""
from common_sr import apply_variant, sr_config


def get_config(variant=None):
    config = sr_config(scale=4, num_blocks=4, features=32)
    config.model.image_skip = "bicubic"
    config.total_steps = 1500
    config.batch_size = 16
    config.learning_rate = 1e-3
    config.eval_every = 500
    config.checkpoint_every = 500
    config.data.patch_size = 24
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 100
    return apply_variant(config, variant)
