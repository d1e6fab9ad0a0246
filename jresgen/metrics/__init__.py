"""Quality metrics: PSNR/SSIM (more with their families)."""
from jresgen.metrics.image_quality import psnr, rgb_to_y, sr_metrics, ssim

__all__ = ["psnr", "rgb_to_y", "sr_metrics", "ssim"]
