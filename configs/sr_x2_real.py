"""Super-resolution x2 for images of unknown origin: the sr_x2 model trained on the "random"
degradation (Real-ESRGAN-style blur, resize method, noise and JPEG, drawn per sample). Use it
for `jresgen upscale` on LR images that may be blurred, aliased, noisy or compressed; sr_x2.py
is the papers' protocol (bicubic LR) and scores higher on clean antialiased LR.

    jresgen train --config configs/sr_x2_real.py --workdir runs/sr_x2_real
    jresgen eval --workdir runs/sr_x2_real

Measured (validation photos, Y-PSNR gain over bicubic upsampling of the same LR, mean of the
eight panel degradations): +0.64 dB (sr_x2: +0.66 dB); worst photo -0.59 dB on JPEG (sr_x2:
-1.74 dB on LR resized without antialiasing); +0.68 dB on bicubic LR (sr_x2: +1.64 dB). 542
CPU-seconds of training (sr_x2: 455). README "Super-resolution on images of unknown origin".
"""
from common_sr import apply_variant
from sr_x2 import get_config as sr_x2_config


def get_config(variant=None):
    config = sr_x2_config()
    config.data.degradation = "random"
    return apply_variant(config, variant)
