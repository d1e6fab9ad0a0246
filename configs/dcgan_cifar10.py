"""DCGAN on CIFAR-10 at 32x32 (Radford et al. 2016's layout with one fewer up-sampling layer:
ngf = ndf = 64, non-saturating loss, Adam 2e-4 with beta1 0.5, batch 128). Radford et al. did
not report FID; Heusel et al. 2017 (TTUR, Table 1) report FID 36.9 for DCGAN on CIFAR-10
(Inception features). On an accelerator:

    jresgen train --config configs/resnet20_cifar10.py --workdir runs/resnet20_cifar10
    jresgen train --config configs/dcgan_cifar10.py --workdir runs/dcgan_cifar10

Needs CIFAR-10 prepared for TFDS (`tfds build cifar10 --data_dir DIR --file_format=array_record`
on a machine with internet; pass --config.data.data_dir=DIR to both commands); offline it stops
with one line. FID/KID use the CIFAR ResNet-20's features, not Inception's.
"""
from common_digits import apply_variant
from common_gan import gan_config, tiny_gan
from common_tfds import class_folder_keys, tfds_data, tiny_tfds


def get_config(variant=None):
    config = gan_config("dcgan", resolution=32, channels=3, g_features=64, d_features=64,
                        z_dim=100)
    config.data = tfds_data("cifar10", image_size=32, eval_batch_size=256,
                            cache_images=True,  # 150 MB: a batch is one gather
                            **class_folder_keys(3))
    config.evaluation.classifier_workdir = "runs/resnet20_cifar10"
    config.evaluation.num_samples = 10000
    config.total_steps = 100000
    config.batch_size = 128
    config.log_every = 100
    config.eval_every = 5000
    config.checkpoint_every = 5000
    return apply_variant(config, variant, lambda c: tiny_tfds(tiny_gan(c)))
