"""ResNet-20 on CIFAR-10 with He et al. 2016's recipe: SGD, momentum 0.9, lr 0.1, weight decay
1e-4, batch 128, 64k iterations, lr /10 at 32k and 48k; 4-pixel pad-and-crop and horizontal
flips. The paper reports 8.75% test error. Needs TensorFlow Datasets (pip install
'jresgen[tfds]'), whose loader arrives in a later release.

    jresgen train --config configs/resnet20_cifar10.py --workdir runs/resnet20_cifar10
"""
import ml_collections

from common_digits import apply_variant, resnet_sgd, tiny_resnet
from jresgen.config import base_config


def get_config(variant=None):
    config = base_config("classifier")
    config.model = ml_collections.ConfigDict(dict(arch="resnet20", num_classes=10,
                                                  dtype="float32"))
    config.data = ml_collections.ConfigDict(dict(
        name="cifar10", image_size=32, pad_crop=4, random_flip=True, eval_batch_size=500))
    config.total_steps = 64_000
    config.log_every = 200
    config.eval_every = 4000
    config.checkpoint_every = 4000
    resnet_sgd(config)
    return apply_variant(config, variant, tiny_resnet)
