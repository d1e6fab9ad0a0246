"""The residual VAE on CIFAR-10 (32x32 RGB, 256 levels per channel, categorical likelihood).
Needs TensorFlow Datasets (pip install 'jresgen[tfds]'), whose loader arrives in a later
release.

    jresgen train --config configs/vae_cifar10.py --workdir runs/vae_cifar10
"""
import ml_collections

from common_digits import apply_variant, tiny_vae, vae_config


def get_config(variant=None):
    config = vae_config(image_size=32, channels=3, levels=256)
    config.model.latent_dim, config.model.features = 128, (64, 128, 256)  # 32 -> 4
    config.data = ml_collections.ConfigDict(dict(name="cifar10", image_size=32,
                                                 eval_batch_size=500))
    config.total_steps = 100_000
    config.batch_size = 128
    config.learning_rate = 1e-3
    config.log_every = 200
    config.eval_every = 5000
    config.checkpoint_every = 5000
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 1000
    config.optimizer.grad_clip_norm = 100.0  # 256-way softmax per subpixel: rare large steps
    return apply_variant(config, variant, tiny_vae)
