"""The residual VAE on MNIST (28x28, 256 levels, categorical likelihood), 50 epochs of the
60,000 training digits. Needs TensorFlow Datasets (pip install 'jresgen[tfds]'), whose
loader arrives in a later release.

    jresgen train --config configs/vae_mnist.py --workdir runs/vae_mnist
"""
import ml_collections

from common_digits import apply_variant, tiny_vae, vae_config


def get_config(variant=None):
    config = vae_config(image_size=28, channels=1, levels=256)
    config.model.latent_dim, config.model.features = 32, (32, 64)  # 28 -> 14 -> 7
    config.data = ml_collections.ConfigDict(dict(name="mnist", image_size=28,
                                                 eval_batch_size=500))
    config.total_steps = 23_400  # 50 epochs at batch 128
    config.batch_size = 128
    config.learning_rate = 1e-3
    config.log_every = 200
    config.eval_every = 2000
    config.checkpoint_every = 2000
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 500
    return apply_variant(config, variant, tiny_vae)
