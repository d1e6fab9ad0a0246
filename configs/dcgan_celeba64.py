"""DCGAN on CelebA at 64x64 (Radford et al. 2016, "Unsupervised Representation Learning with
Deep Convolutional GANs": four transposed-conv up-samplings, BatchNorm, ngf = ndf = 64, z 100,
non-saturating loss, Adam 2e-4 with beta1 0.5, batch 128) on CelebA's 162,770 training faces,
each the central 108x108 of the aligned 178x218 photo resized to 64x64 (as DCGAN's CelebA
code did), 25 epochs (31,800 steps).

Radford et al. show CelebA-like face samples but report no FID for them, so no figure is quoted
here. No FID/KID either (there is no CelebA classifier config to give features): look at the
sample grids that evaluation writes to samples/.

With CelebA prepared (`tfds build celeb_a --data_dir DIR --file_format=array_record` on a machine
with internet; its download from Google Drive sometimes needs a retry), on an accelerator:

    jresgen train --config configs/dcgan_celeba64.py --workdir runs/dcgan_celeba64 \
        --config.data.data_dir=DIR
    jresgen sample --workdir runs/dcgan_celeba64 --num 64 faces.png
"""
from common_digits import apply_variant
from common_gan import gan_config, tiny_gan
from common_tfds import class_folder_keys, tfds_data, tiny_tfds


def tiny(config):
    config = tiny_tfds(tiny_gan(config))
    config.model.resolution, config.data.image_size = 16, 16
    return config


def get_config(variant=None):
    config = gan_config("dcgan", resolution=64, channels=3, g_features=64, d_features=64,
                        z_dim=100)
    config.data = tfds_data("celeb_a", image_size=64, center_crop=108, eval_batch_size=256,
                            cache_images=True,  # 2 GB at 64x64: a batch is one gather
                            **class_folder_keys(3))
    config.total_steps = 31_800  # 25 epochs of 1,272 steps
    config.batch_size = 128
    config.log_every = 100
    config.eval_every = 2000
    config.checkpoint_every = 2000
    return apply_variant(config, variant, tiny)
