"""The residual VAE on CIFAR-10 (32x32 RGB, 256 levels per channel, categorical likelihood).
With CIFAR-10 prepared (`tfds build cifar10 --data_dir DIR --file_format=array_record` on a
machine with internet), on an accelerator:

    jresgen train --config configs/vae_cifar10.py --workdir runs/vae_cifar10 \
        --config.data.data_dir=DIR
"""
from common_digits import apply_variant, tiny_vae, vae_config
from common_tfds import class_folder_keys, tfds_data, tiny_tfds


def get_config(variant=None):
    config = vae_config(image_size=32, channels=3, levels=256)
    config.model.latent_dim, config.model.features = 128, (64, 128, 256)  # 32 -> 4
    config.data = tfds_data("cifar10", image_size=32, eval_batch_size=500, eval_examples=0,
                            cache_images=True,  # 150 MB: a batch is one gather
                            **class_folder_keys(3))
    config.total_steps = 100_000
    config.batch_size = 128
    config.learning_rate = 1e-3
    config.log_every = 200
    config.eval_every = 5000
    config.checkpoint_every = 5000
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 1000
    config.optimizer.grad_clip_norm = 100.0  # 256-way softmax per subpixel: rare large steps
    return apply_variant(config, variant, lambda c: tiny_tfds(tiny_vae(c)))
