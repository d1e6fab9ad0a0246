"""Super-resolution x2 for images of unknown origin: the sr_x2 model trained on the "random"
degradation (Real-ESRGAN-style blur, resize method, noise and JPEG, drawn per sample), so it
stays at or above bicubic however the LR image was made. Use it for `jresgen upscale` on your
own images; sr_x2.py is the papers' protocol (bicubic LR) and scores higher only there.

    jresgen train --config configs/sr_x2_real.py --workdir runs/sr_x2_real
    jresgen eval --workdir runs/sr_x2_real
"""
from common_sr import apply_variant
from sr_x2 import get_config as sr_x2_config


def get_config(variant=None):
    config = sr_x2_config()
    config.data.degradation = "random"
    return apply_variant(config, variant)
