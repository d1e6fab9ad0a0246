"""Super-resolution x4 for images of unknown origin: sr_x4 trained on the "random" degradation,
with blur ranges doubled with the scale (sigma in HR pixels). Not yet trained to the end
here: its quality is unmeasured (the :tiny variant is smoke-tested).

    jresgen train --config configs/sr_x4_real.py --workdir runs/sr_x4_real
"""
from common_sr import apply_variant
from sr_x2_real import get_config as sr_x2_real_config


def get_config(variant=None):
    config = sr_x2_real_config()
    config.model.scale = 4
    config.data.patch_size = 24
    lo, hi = config.data.random.blur_sigma
    config.data.random.blur_sigma = (lo * 2, hi * 2)
    return apply_variant(config, variant)
