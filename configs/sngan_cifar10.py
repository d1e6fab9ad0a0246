"""SNGAN on CIFAR-10 as published (Miyato et al. 2018, ResNet G and D at 32x32, hinge loss,
Adam 2e-4 with betas (0, 0.9), n_dis 5, batch 64, 50k generator updates with the learning rate
decayed linearly to 0). The paper ("Spectral Normalization for Generative Adversarial
Networks", Table 2, SN-GANs with the ResNet architecture) reports Inception score 8.22 and
FID 21.7 (Inception features). On an accelerator:

    jresgen train --config configs/resnet20_cifar10.py --workdir runs/resnet20_cifar10
    jresgen train --config configs/sngan_cifar10.py --workdir runs/sngan_cifar10

Needs CIFAR-10 prepared for TFDS (`tfds build cifar10 --data_dir DIR --file_format=array_record`
on a machine with internet; pass --config.data.data_dir=DIR to both commands); offline it stops
with one line. FID/KID here use the CIFAR ResNet-20's features, not Inception's: comparable
between jresgen runs, not with the paper's figure.
"""
from common_digits import apply_variant
from common_gan import gan_config, tiny_gan
from common_tfds import class_folder_keys, tfds_data, tiny_tfds


def get_config(variant=None):
    config = gan_config("sngan", resolution=32, channels=3, g_features=256, d_features=128)
    config.data = tfds_data("cifar10", image_size=32, eval_batch_size=256,
                            cache_images=True,  # 150 MB: a batch is one gather
                            **class_folder_keys(3))
    config.evaluation.classifier_workdir = "runs/resnet20_cifar10"
    config.evaluation.num_samples = 10000
    config.total_steps = 50000
    config.batch_size = 64
    for section in (config.optimizer.g, config.optimizer.d):
        section.schedule, section.final_lr_fraction = "linear", 0.0
    config.log_every = 100
    config.eval_every = 5000
    config.checkpoint_every = 5000
    return apply_variant(config, variant, lambda c: tiny_tfds(tiny_gan(c)))
