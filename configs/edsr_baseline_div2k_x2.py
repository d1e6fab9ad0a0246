"""EDSR-baseline x2 (Lim et al. 2017) on DIV2K with the challenge's bicubic x2 LR, as
configs/common_edsr_div2k.py describes (the recipe, the protocol of the figure, what differs).

Reported: 34.61 dB PSNR on DIV2K validation 0801-0900 for EDSR_baseline_x2 (the authors'
EDSR-PyTorch README; RGB, scale + 2 border pixels ignored).

    tfds build div2k/bicubic_x2 --data_dir DIR --file_format=array_record   # with internet
    jresgen train --config configs/edsr_baseline_div2k_x2.py --workdir runs/edsr_div2k_x2 \
        --config.data.data_dir=DIR --config.model.dtype=bfloat16              # accelerator
    jresgen eval --workdir runs/edsr_div2k_x2 --json
"""
from common_edsr_div2k import edsr_baseline_div2k


def get_config(variant=None):
    return edsr_baseline_div2k(2, variant)
