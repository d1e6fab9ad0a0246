"""The base every super-resolution config starts from (not an experiment itself)."""
import ml_collections

from jresgen.config import base_config
from jresgen.data.degradation import RANDOM_DEFAULTS


def sr_config(scale: int, num_blocks: int, features: int) -> ml_collections.ConfigDict:
    config = base_config("sr")
    config.model = ml_collections.ConfigDict(dict(
        scale=scale, num_blocks=num_blocks, features=features,
        norm="none",  # none | batch | instance | group | layer
        activation="relu",  # relu | prelu | leaky_relu | gelu | silu | elu
        res_scale=1.0,  # EDSR scales the residual branch by 0.1 in its 256-feature model
        upsampler_activation="",  # "" (EDSR) or e.g. "prelu" (SRResNet)
        subtract_mean=True,  # EDSR's DIV2K mean shift
        image_skip="none",  # "bicubic": learn only the residual over bicubic upsampling
        loss="l1",  # l1 (EDSR) | l2 (SRResNet)
        dtype="float32",  # computation dtype: "bfloat16" on accelerators; params stay float32
        remat="none"))  # per-block rematerialisation policy (jresgen/nn/remat.py)
    config.data = ml_collections.ConfigDict(dict(
        name="photos_sr",
        # "embedded": the photos in scikit-image; "folder": the user's image folders below
        # (jresgen/data/sr_folders.py: DIV2K's layout; every image is held in memory).
        source="embedded",
        patch_size=48,  # LR pixels; HR crops are patch_size * scale
        train_images=(),  # embedded source: () = the default split, see jresgen/data/photos.py
        **sr_folder_keys()))
    # LR tile size, overlap and tiles per batch used by eval and upscale: bounds memory.
    config.tiling = ml_collections.ConfigDict(dict(tile=128, overlap=16, tile_batch=4))
    return config


def sr_folder_keys() -> dict:
    """The keys of `data.source = "folder"` (the user's HR folders, DIV2K's layout) and of how
    LR inputs are made from HR images; shared by the embedded-photo and the DIV2K configs."""
    return dict(
        train_dir="",  # HR training images (folder source)
        train_lr_dir="",  # their LR images, same file names; "": made by `degradation`
        valid_dir="",  # HR validation images; "": the built-in photos of `valid_images`
        valid_images=(),  # () = the default validation photos, see jresgen/data/photos.py
        # How LR inputs are made (jresgen/data/degradation.py): "bicubic", the papers'
        # protocol, or "random", Real-ESRGAN-style blur/resize/noise/JPEG drawn per sample
        # from the ranges in `random` (also the eval panel's "random" entry).
        degradation="bicubic",
        random=ml_collections.ConfigDict(dict(RANDOM_DEFAULTS)))


def tiny(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """The `:tiny` variant of any SR config: seconds on a laptop, for tests and smoke runs."""
    config.total_steps = 4
    config.batch_size = 4
    config.log_every = 1
    config.eval_every = 0
    config.checkpoint_every = 2
    config.model.num_blocks, config.model.features = 1, 8
    config.data.patch_size = 16
    config.data.train_images = ("astronaut", "rocket")
    config.data.valid_images = ("chelsea",)
    config.tiling = ml_collections.ConfigDict(dict(tile=64, overlap=8, tile_batch=2))
    return config


def apply_variant(config, variant):
    if variant == "tiny":
        return tiny(config)
    if variant is not None:
        raise ValueError(f"unknown variant {variant!r} (known: tiny)")
    return config
