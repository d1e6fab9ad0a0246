"""Super-resolution x2 for images of unknown origin: the sr_x2 model trained on the "random"
degradation (Real-ESRGAN-style blur, resize method, noise and JPEG, drawn per sample). Use it
for `jresgen upscale` on LR images that may be blurred, aliased, noisy or compressed; sr_x2.py
is the papers' protocol (bicubic LR) and scores higher on clean antialiased LR.

    jresgen train --config configs/sr_x2_real.py --workdir runs/sr_x2_real
    jresgen eval --workdir runs/sr_x2_real

Measured (validation photos, Y-PSNR gain over bicubic upsampling of the same LR, mean of the
eight panel degradations): +0.62 dB (sr_x2: +0.66 dB); worst photo -0.19 dB on JPEG (sr_x2:
-1.74 dB on LR resized without antialiasing); +0.69 dB on bicubic LR (sr_x2: +1.64 dB). 522
CPU-seconds of training (sr_x2: 455). README "Super-resolution on images of unknown origin".
"""
from common_sr import apply_variant
from sr_x2 import get_config as sr_x2_config


def get_config(variant=None):
    config = sr_x2_config()
    config.data.degradation = "random"
    # Less blur and more JPEG than the defaults: with the defaults (blur 0.7, JPEG 0.3 at
    # 70-95) the worst panel photo was -0.59 dB on JPEG and -0.24 dB on aliased LR; with these
    # -0.19 and -0.09 dB, for +1.04 instead of +1.67 dB on blurred LR.
    config.data.random.blur_prob = 0.5
    config.data.random.jpeg_prob = 0.5
    config.data.random.jpeg_quality = (60, 95)
    return apply_variant(config, variant)
