"""Super-resolution x2 for images of unknown origin: the sr_x2 model trained on the "random"
degradation (Real-ESRGAN-style blur, resize method, noise and JPEG, drawn per sample). Use it
for `jresgen upscale` on LR images that may be blurred, aliased, noisy or compressed; sr_x2.py
is the papers' protocol (bicubic LR) and scores higher on clean antialiased LR.

    jresgen train --config configs/sr_x2_real.py --workdir runs/sr_x2_real
    jresgen eval --workdir runs/sr_x2_real

Measured (validation photos, Y-PSNR gain over bicubic upsampling of the same LR, mean of the
eight panel degradations): +0.71 dB (seeds 1, 2: +0.72, +0.72; sr_x2: +0.67 dB); every one of
the 16 photo x degradation pairs at or above bicubic on each of the three seeds, the closest
chelsea on JPEG, +0.04 dB (sr_x2: down to -1.84 dB on LR resized without antialiasing);
+0.89 dB on bicubic LR (sr_x2: +1.67 dB). About 2 min wall, 236 CPU-seconds, on the 2-core
CPU. README "Super-resolution on images of unknown origin".
"""
from common_sr import apply_variant
from sr_x2 import get_config as sr_x2_config


def get_config(variant=None):
    config = sr_x2_config()
    config.data.degradation = "random"
    # Few blurred and noisy samples, more aliased ones and more JPEG. Blur and noise teach the
    # net to boost the pass band and smooth texture, which is wrong on LR resized without
    # antialiasing and on JPEG (chelsea's fur). The worst photo, trained with the defaults:
    # -0.59 dB (JPEG) and -0.24 dB (aliased); blur 0.3: -0.07 and +0.05; blur 0.1 (this):
    # +0.04 and +0.16, at or above bicubic on three seeds, for 0.27 dB less on blurred LR (README).
    config.data.random.blur_prob = 0.1
    config.data.random.noise_prob = 0.05
    config.data.random.resize_methods = ("bicubic", "bicubic_noaa", "bicubic_noaa", "bilinear",
                                         "bilinear_noaa", "area")  # no antialias: 1/2, not 2/5
    config.data.random.jpeg_prob = 0.5
    config.data.random.jpeg_quality = (60, 95)
    return apply_variant(config, variant)
