"""SNGAN on CIFAR-10 as published (Miyato et al. 2018, ResNet G and D at 32x32, hinge loss,
Adam 2e-4 with betas (0, 0.9), n_dis 5, batch 64, 50k generator updates with the learning rate
decayed linearly to 0). The paper reports FID 21.7 (Inception features; their Table 2).

    jresgen train --config configs/resnet20_cifar10.py --workdir runs/resnet20_cifar10
    jresgen train --config configs/sngan_cifar10.py --workdir runs/sngan_cifar10

Needs CIFAR-10 through TensorFlow Datasets (pip install 'jresgen[tfds]'); offline it stops with
one line. FID/KID here use the CIFAR ResNet-20's features, not Inception's: comparable between
jresgen runs, not with the paper's figure.
"""
from common_digits import apply_variant
from common_gan import gan_config, tiny_gan

import ml_collections


def get_config(variant=None):
    config = gan_config("sngan", resolution=32, channels=3, g_features=256, d_features=128)
    config.data = ml_collections.ConfigDict(dict(name="cifar10", eval_batch_size=256))
    config.evaluation.classifier_workdir = "runs/resnet20_cifar10"
    config.evaluation.num_samples = 10000
    config.total_steps = 50000
    config.batch_size = 64
    for section in (config.optimizer.g, config.optimizer.d):
        section.schedule, section.final_lr_fraction = "linear", 0.0
    config.log_every = 100
    config.eval_every = 5000
    config.checkpoint_every = 5000
    return apply_variant(config, variant, tiny_gan)
