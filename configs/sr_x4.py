"""Super-resolution x4 on the embedded photographs: the sr_x2 recipe at scale 4 (two x2
pixel-shuffle stages) with smaller LR patches, so the HR crops stay 96 pixels wide.

    jresgen train --config configs/sr_x4.py --workdir runs/sr_x4
"""
from common_sr import apply_variant
from sr_x2 import get_config as sr_x2_config


def get_config(variant=None):
    config = sr_x2_config()
    config.model.scale = 4
    config.data.patch_size = 24
    return apply_variant(config, variant)
