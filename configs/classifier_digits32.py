"""LeNet-style CNN on scikit-learn's digits resized to 32x32 (bilinear, 17 levels kept): the
feature network of the 32x32 generative configs' FID/KID (their data section is the same
`digits_data(32, resize="bilinear")`; see README "Generative evaluation").

    jresgen train --config configs/classifier_digits32.py --workdir runs/classifier_digits32
    jresgen eval --workdir runs/classifier_digits32 --json

Measured: see the README's "Generative evaluation" section.
"""
from common_digits import apply_variant, classifier_config
from classifier_digits import tiny


def get_config(variant=None):
    config = classifier_config("lenet", image_size=32, conv_features=(32, 64), hidden=(256, 128))
    # The 16x16 config's one-pixel translations, at twice the resolution. Training-time
    # augmentation only: the FID/KID data check compares the images, not max_shift.
    config.data.max_shift = 2
    config.total_steps = 1500
    config.batch_size = 64
    config.learning_rate = 1e-3
    config.log_every = 100
    config.eval_every = 500
    config.checkpoint_every = 500
    config.optimizer.name = "adamw"
    config.optimizer.weight_decay = 1e-4
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 50
    return apply_variant(config, variant, tiny)
