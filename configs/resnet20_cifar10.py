"""ResNet-20 on CIFAR-10 with He et al. 2016's recipe: SGD, momentum 0.9, lr 0.1, weight decay
1e-4, batch 128, 64k iterations, lr /10 at 32k and 48k; 4-pixel pad-and-crop and horizontal
flips, on CIFAR-10's 50,000 training images. He et al. ("Deep Residual Learning for Image
Recognition", Table 6) report 8.75% error on the 10,000 test images.

With CIFAR-10 prepared (`tfds build cifar10 --data_dir DIR --file_format=array_record` on a
machine with internet; README "Public datasets"), on an accelerator:

    jresgen train --config configs/resnet20_cifar10.py --workdir runs/resnet20_cifar10 \
        --config.data.data_dir=DIR
    jresgen eval --workdir runs/resnet20_cifar10 --json

runs/resnet20_cifar10 is also the feature network of the CIFAR-10 GANs' FID/KID.
"""
import ml_collections

from common_digits import apply_variant, resnet_sgd, tiny_resnet
from common_tfds import class_folder_keys, tfds_data, tiny_tfds
from jresgen.config import base_config


def get_config(variant=None):
    config = base_config("classifier")
    config.model = ml_collections.ConfigDict(dict(arch="resnet20", num_classes=10,
                                                  dtype="float32"))
    config.data = tfds_data("cifar10", image_size=32, pad_crop=4, random_flip=True,
                            eval_batch_size=500, eval_examples=0,
                            cache_images=True,  # 150 MB: a batch is one gather
                            **class_folder_keys(3))
    config.total_steps = 64_000
    config.log_every = 200
    config.eval_every = 4000
    config.checkpoint_every = 4000
    resnet_sgd(config)
    return apply_variant(config, variant, lambda c: tiny_tfds(tiny_resnet(c)))
