"""Fast style transfer (Johnson et al. 2016) with pytorch/examples' TransformerNet, trained on
crops of the embedded training photos against one style image; features are fixed random
multi-scale filters (no pretrained VGG here; `features.kind="vgg19"` with a weights file works
too, see jresgen/models/features.py).

    jresgen train --config configs/style_transfer.py --workdir runs/style
    jresgen eval --workdir runs/style --json
    jresgen stylize --workdir runs/style photo.jpg stylised.png

Use your own style image with --config.style.image=path/to/painting.jpg.

Measured (400 steps, 16 min 36 s wall on the shared 2-core CPU under heavy load): style loss
on the validation photos 0.43 (the unstyled photos: 10.39), content loss 1.36; the photos keep
their layout in the style's pale colours, with blobby regions and rainbow edge fringes.
"""
import ml_collections

from jresgen.config import base_config
from jresgen.models.features import default_features_config


def tiny(config):
    """Seconds on a laptop, for tests and smoke runs."""
    config.total_steps = 4
    config.batch_size = 4
    config.log_every = 1
    config.eval_every = 0
    config.checkpoint_every = 2
    config.model.features, config.model.num_blocks = (4, 8, 8), 1
    config.features.layers = ("scale0", "scale1")
    config.style.content_layer = "scale1"
    config.style.size = 64
    config.data.patch_size = 32
    config.data.train_images = ("astronaut",)
    config.data.valid_images = ("chelsea",)
    return config


def get_config(variant=None):
    config = base_config("style_transfer")
    config.model = ml_collections.ConfigDict(dict(
        features=(32, 64, 128),  # the 9x9 conv's width, then the two strided convs'
        num_blocks=5, norm="instance", dtype="float32"))
    config.features = default_features_config("random")
    # Style statistics at four scales (5x5 random filters on the image pooled 1, 2, 4, 8 times:
    # up to 40 pixels across), so 64-pixel crops fit and a CPU trains in minutes.
    config.features.layers = ("scale0", "scale1", "scale2", "scale3")
    config.style = ml_collections.ConfigDict(dict(
        image="immunohistochemistry",  # a built-in name (jresgen/data/exemplars.py) or a path
        size=256,  # the style image's longer side, in pixels (0: as it is)
        content_layer="scale1",  # the feature layer whose responses the output keeps
        content_weight=1.0, style_weight=5.0, tv_weight=1.0))
    config.data = ml_collections.ConfigDict(dict(
        name="photo_crops", patch_size=64,  # Johnson et al. train on 256
        train_images=(), valid_images=()))  # () = the split of jresgen/data/photos.py
    config.total_steps = 400
    config.batch_size = 4
    config.learning_rate = 1e-3
    config.log_every = 25
    config.eval_every = 200
    config.checkpoint_every = 200
    if variant == "tiny":
        return tiny(config)
    if variant is not None:
        raise ValueError(f"unknown variant {variant!r} (known: tiny)")
    return config
