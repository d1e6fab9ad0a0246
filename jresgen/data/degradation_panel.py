"""The fixed panel of degradations `jresgen eval` scores SR models under.

Each entry makes the LR image of a validation photo the way a user's LR image may have been
made, and rounds it to uint8 levels as a stored image would be:

    bicubic                jresgen's antialiased bicubic (the papers' protocol; sr_x2 trains on it)
    random                 the "random" model with its default ranges (RANDOM_DEFAULTS, whatever
                           a config trains with), one fixed draw per photo
    pillow_bicubic         Pillow's Image.resize(..., BICUBIC) on the uint8 photo
    skimage_antialias      skimage.transform.resize(..., anti_aliasing=True): Gaussian
                           prefilter, then bilinear interpolation
    area                   Pillow's BOX filter: the mean of each scale x scale block (OpenCV's
                           INTER_AREA at integer factors)
    gaussian_blur_bicubic  Gaussian blur of sigma scale/2 HR pixels, then jresgen's bicubic
                           (the "BD" setting of the SRMD/RDN papers, scaled to the factor)
    bicubic_noaa           bicubic without antialiasing: the kernel samples the HR image at the
                           LR pixel centres and aliases, as cv2.resize(INTER_CUBIC) and
                           torch's interpolate(antialias=False) do (they use a = -0.75, this
                           a = -0.5)
    jpeg                   jresgen's bicubic, then saved as JPEG at quality 75 by Pillow

The panel is the same for every model and every run, so figures compare across configs.
"""
import zlib

import numpy as np
from PIL import Image
from scipy import ndimage

from jresgen.data.degradation import RandomDegradation, jpeg, resize
from jresgen.data.resize import degrade, quantize, to_uint8

PANEL = ("bicubic", "random", "pillow_bicubic", "skimage_antialias", "area",
         "gaussian_blur_bicubic", "bicubic_noaa", "jpeg")
JPEG_QUALITY = 75
_PANEL_SEED = 20_240_611  # the "random" entry's draws, fixed for every model


def _pillow(hr, scale, resample):
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    small = Image.fromarray(to_uint8(hr)).resize((w, h), resample)
    return np.asarray(small, np.float32) / 255.0


def panel_lr(name: str, hr: np.ndarray, scale: int, image_name: str = "") -> np.ndarray:
    """The LR image of HR `hr` (float [H, W, 3] in [0, 1], H and W multiples of `scale`) under
    panel entry `name`: float32 [H/scale, W/scale, 3] on uint8 levels."""
    h, w = hr.shape[0] // scale, hr.shape[1] // scale
    if name == "bicubic":
        return degrade(hr, scale)
    if name == "random":
        rng = np.random.default_rng((_PANEL_SEED, zlib.crc32(image_name.encode())))
        return RandomDegradation({}, scale)(hr, rng)
    if name == "pillow_bicubic":
        return _pillow(hr, scale, Image.Resampling.BICUBIC)
    if name == "area":
        return _pillow(hr, scale, Image.Resampling.BOX)
    if name == "skimage_antialias":
        import skimage.transform
        small = skimage.transform.resize(hr, (h, w, hr.shape[2]), anti_aliasing=True)
        return np.round(np.clip(small, 0, 1) * 255).astype(np.float32) / 255.0
    if name == "gaussian_blur_bicubic":
        sigma = scale / 2
        return degrade(ndimage.gaussian_filter(hr, (sigma, sigma, 0), mode="mirror"), scale)
    if name == "bicubic_noaa":
        return quantize(resize(hr, h, w, "bicubic_noaa"))
    if name == "jpeg":
        return jpeg(degrade(hr, scale), JPEG_QUALITY)
    raise ValueError(f"unknown panel degradation {name!r}; the panel: {', '.join(PANEL)}")
