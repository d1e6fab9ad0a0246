"""A fully convolutional SNGAN texture model (spatial latents, as Jetchev et al.'s spatial
GAN): trained on random 64x64 patches of scikit-image's `brick` (halved to 256x256), it
generates textures of any size from a latent map.

    jresgen train --config configs/sngan_texture.py --workdir runs/sngan_texture
    jresgen sample --workdir runs/sngan_texture --size 256x256 brick.png

The generator turns a [H/8, W/8, z_dim] noise map into an [H, W] texture through three
up-sampling residual blocks; the discriminator scores 64x64 patches. No FID here (no
classifier of textures); look at the samples, which evaluation writes to samples/.
"""
from common_digits import apply_variant
from common_gan import gan_config, tiny_gan

import ml_collections


def tiny(config):
    config = tiny_gan(config)
    config.model.g_blocks, config.model.d_blocks = (8, 8, 8), ((8, True), (8, True), (8, False))
    config.data.patch_size = 32
    config.model.resolution = 32
    return config


def get_config(variant=None):
    config = gan_config("sngan", resolution=64, channels=1, g_features=32, d_features=32,
                        z_dim=16)
    config.model.spatial_latent = True
    config.model.g_blocks = (32, 32, 16)
    config.model.d_blocks = ((16, True), (32, True), (32, True), (32, False))
    config.data = ml_collections.ConfigDict(dict(
        name="texture_patches", exemplar="brick",  # or any image file
        exemplar_scale=0.5,  # patches then span more bricks
        patch_size=64))  # = model.resolution: what D sees
    config.gan.n_dis = 2
    config.gan.ema_decay = 0.995
    config.total_steps = 2000
    config.batch_size = 8
    config.log_every = 100
    config.eval_every = 1000
    config.checkpoint_every = 1000
    config.sampling.grid_rows, config.sampling.grid_cols, config.sampling.zoom = 2, 2, 1
    return apply_variant(config, variant, tiny)
