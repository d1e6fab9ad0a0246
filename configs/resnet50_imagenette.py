"""ResNet-50 (torchvision's layout, 25.6 M parameters at 1,000 classes; here 10) trained from
scratch on Imagenette (the 10 easy ImageNet classes; TFDS `imagenette/320px-v2`: 9,469 training
and 3,925 validation images, shorter side 320) with He et al.'s ImageNet recipe scaled to the
set: SGD with momentum 0.9, learning rate 0.1 at batch 256, weight decay 1e-4, 224x224
random-resized crops and horizontal flips, 5 epochs of warm-up then cosine decay over 80 epochs
(2,960 steps); evaluation on the central 224 crop of the shorter side resized to 256. The last
BatchNorm of each block starts at zero (Goyal et al. 2017).

No paper reports ResNet-50 on Imagenette (its leaderboard uses other networks and tricks), so
no figure is quoted; He et al.'s ImageNet error (1,000 classes) is not comparable.

With Imagenette prepared (`tfds build imagenette/320px-v2 --data_dir DIR
--file_format=array_record` on a machine with internet), on an accelerator:

    jresgen train --config configs/resnet50_imagenette.py --workdir runs/resnet50_imagenette \
        --config.data.data_dir=DIR --config.model.dtype=bfloat16
    jresgen eval --workdir runs/resnet50_imagenette --json
"""
import ml_collections

from common_digits import apply_variant, resnet_sgd, tiny_resnet
from common_tfds import class_folder_keys, tfds_data, tiny_tfds
from jresgen.config import base_config


def tiny(config):
    config = tiny_tfds(tiny_resnet(config))
    config.model.block, config.model.stem = "bottleneck", "imagenet"
    config.model.stage_sizes, config.model.stage_features = (1, 1), (4, 8)
    config.data.image_size = 32
    return config


def get_config(variant=None):
    config = base_config("classifier")
    config.model = ml_collections.ConfigDict(dict(arch="resnet50", num_classes=10,
                                                  zero_init_residual=True, dtype="float32"))
    config.data = tfds_data("imagenette", tfds_name="imagenette/320px-v2", image_size=224,
                            random_resized_crop=True, random_flip=True,
                            cache_images=False,  # each sample is cropped from the full image
                            crop_fraction=0.875,  # evaluation: 224 of 256
                            eval_batch_size=250, eval_examples=0,
                            **class_folder_keys(3))
    resnet_sgd(config)
    config.batch_size = 256
    config.total_steps = 2960  # 80 epochs of 37 steps
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 185  # 5 epochs
    config.log_every = 37
    config.eval_every = 370
    config.checkpoint_every = 370
    return apply_variant(config, variant, tiny)
