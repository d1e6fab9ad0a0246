"""Super-resolution x4 for images of unknown origin: sr_x4 trained on the "random" degradation
as sr_x2_real.py, with no blur and more aliased samples: at x4 the resize kernels themselves
blur enough, and the blur that sr_x2_real keeps (0.1, sigma doubled with the scale) left the
aliased and JPEG chelsea below bicubic (-0.06 and -0.10 dB).

    jresgen train --config configs/sr_x4_real.py --workdir runs/sr_x4_real
    jresgen eval --workdir runs/sr_x4_real

Measured (validation photos, Y-PSNR gain over bicubic upsampling of the same LR): every one of
the 16 photo x degradation pairs of the panel at or above bicubic on seeds 0 and 1 (worst
+0.016 and +0.048 dB, chelsea), panel mean +0.455 / +0.468 dB, +0.47 / +0.48 dB on bicubic LR.
6 min 18 s wall, 375 CPU-seconds, beside another training on the 2-core CPU. README
"Super-resolution on images of unknown origin".
"""
from common_sr import apply_variant
from sr_x2_real import get_config as sr_x2_real_config


def get_config(variant=None):
    config = sr_x2_real_config()
    config.model.scale = 4
    config.data.patch_size = 24
    lo, hi = config.data.random.blur_sigma
    config.data.random.blur_sigma = (lo * 2, hi * 2)  # HR pixels, should blur come back on
    config.data.random.blur_prob = 0.0
    # bicubic_noaa 3 of 7 draws (sr_x2_real: 2 of 6): aliased chelsea -0.03 dB with 2 of 6
    config.data.random.resize_methods = ("bicubic", "bicubic_noaa", "bicubic_noaa",
                                         "bicubic_noaa", "bilinear", "bilinear_noaa", "area")
    return apply_variant(config, variant)
