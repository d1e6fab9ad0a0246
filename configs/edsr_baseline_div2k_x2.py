"""EDSR-baseline x2 on DIV2K (Lim et al. 2017, "Enhanced Deep Residual Networks for Single Image
Super-Resolution"): 16 residual blocks x 64 features, L1, 48x48 LR patches, batch 16, Adam,
learning rate 1e-4 halved at 200k of 300k steps; DIV2K's 800 training images with the
challenge's bicubic x2 LR (TFDS `div2k/bicubic_x2`).

Reported figure: the authors' official code (EDSR-PyTorch, its README) gives EDSR_baseline_x2
34.61 dB PSNR on DIV2K validation 0801-0900 (RGB, scale + 2 border pixels ignored, no
self-ensemble). No Set5/Set14 figure of the baseline is quoted here: none checked against the
paper. The authors started x3 and x4 from the trained x2 model; this config trains from
scratch. jresgen's `eval` reports Y-PSNR and RGB PSNR with `scale` border pixels cropped
(BasicSR's protocol), so its RGB figure is close to, not the same as, theirs; `eval --images`
on Set5/Set14 folders gives the papers' Y-PSNR table.

On an accelerator, with DIV2K prepared (`tfds build div2k/bicubic_x2 --data_dir DIR
--file_format=array_record` on a machine with internet):

    jresgen train --config configs/edsr_baseline_div2k_x2.py --workdir runs/edsr_div2k_x2 \
        --config.data.data_dir=DIR --config.model.dtype=bfloat16
    jresgen eval --workdir runs/edsr_div2k_x2 --images Set5/HR --json
"""
from common_edsr_div2k import edsr_baseline_div2k


def get_config(variant=None):
    return edsr_baseline_div2k(2, variant)
