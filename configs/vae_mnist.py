"""The residual VAE on MNIST (28x28, 256 levels, categorical likelihood), 50 epochs of the
60,000 training digits (TFDS `mnist`), scored on the 10,000 test digits in bits per dimension.
No paper reports this model; published MNIST likelihoods are mostly on binarised digits, which
are not comparable with a 256-level categorical likelihood.

With MNIST prepared (`tfds build mnist --data_dir DIR --file_format=array_record` on a machine
with internet), on an accelerator:

    jresgen train --config configs/vae_mnist.py --workdir runs/vae_mnist --config.data.data_dir=DIR
"""
from common_digits import apply_variant, tiny_vae, vae_config
from common_tfds import class_folder_keys, tfds_data, tiny_tfds


def get_config(variant=None):
    config = vae_config(image_size=28, channels=1, levels=256)
    config.model.latent_dim, config.model.features = 32, (32, 64)  # 28 -> 14 -> 7
    config.data = tfds_data("mnist", image_size=28, eval_batch_size=500, eval_examples=0,
                            cache_images=True,  # 47 MB: a batch is one gather
                            **class_folder_keys(1))
    config.total_steps = 23_400  # 50 epochs at batch 128
    config.batch_size = 128
    config.learning_rate = 1e-3
    config.log_every = 200
    config.eval_every = 2000
    config.checkpoint_every = 2000
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 500
    return apply_variant(config, variant, lambda c: tiny_tfds(tiny_vae(c)))
