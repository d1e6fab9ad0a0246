"""EDSR-baseline on DIV2K at one scale (the base of configs/edsr_baseline_div2k_x*.py): the
recipe of configs/edsr_baseline_x2.py (16 blocks x 64 features, L1, 48x48 LR patches, batch 16,
Adam 1e-4 halved at 200k of 300k steps) on DIV2K's 800 training pairs with the challenge's
bicubic LR (TFDS div2k/bicubic_x{scale}), validated on 10 of its 100 validation pairs.

The figures in the x2/x3/x4 docstrings are the authors' (EDSR-PyTorch's README: DIV2K
validation 0801-0900, RGB PSNR with scale + 2 border pixels ignored, no self-ensemble). No
Set5/Set14 figure of the baseline is quoted: none was checked against the paper. The authors
started x3 and x4 from the trained x2 model; these configs train from scratch. jresgen's `eval`
reports Y-PSNR and RGB PSNR with `scale` border pixels cropped (BasicSR's protocol) on the first
`data.valid_examples` validation images (--config.data.valid_examples=0 for all 100), so its
RGB figure is close to, not the same as, theirs; `eval --images` on Set5/Set14 folders gives
the papers' Y-PSNR table.

Without TFDS, on DIV2K's folders as downloaded (HR only; the LR made by `data.degradation`, or
`data.train_lr_dir` with the LR files renamed to the HR names):

    jresgen train --config configs/edsr_baseline_div2k_x2.py --workdir runs/edsr_x2 \
        --config.data.source=folder --config.data.train_dir=DIV2K/DIV2K_train_HR \
        --config.data.valid_dir=DIV2K/DIV2K_valid_HR
"""
from common_sr import sr_folder_keys
from common_tfds import tfds_data, tiny_tfds
from edsr_baseline_x2 import get_config as edsr_baseline


def edsr_baseline_div2k(scale: int, variant=None):
    config = edsr_baseline()
    config.model.scale = scale
    config.data = tfds_data(
        "div2k",
        patch_size=48,  # LR pixels (EDSR's 48x48 LR patches at every scale)
        valid_examples=10,  # EDSR's validation during training: DIV2K 0801-0810
        cache_images=True,  # every decoded pair kept: ~8 GB of host memory at x2
        # data.source=folder: DIV2K's own folders instead of TFDS (jresgen/data/sr_folders.py),
        # e.g. train_dir=DIV2K_train_HR, valid_dir=DIV2K_valid_HR; the TFDS keys are not read
        **sr_folder_keys())
    if variant == "tiny":
        config.total_steps, config.batch_size = 4, 4
        config.log_every, config.eval_every, config.checkpoint_every = 1, 0, 2
        config.model.num_blocks, config.model.features = 1, 8
        config.data.patch_size, config.data.valid_examples = 16, 1
        config.data.cache_images = False
        return tiny_tfds(config)
    if variant is not None:
        raise ValueError(f"unknown variant {variant!r} (known: tiny)")
    return config
