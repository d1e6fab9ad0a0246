"""LeNet-style CNN on scikit-learn's digits, resized to 16x16 (bilinear, 17 levels kept).

    jresgen train --config configs/classifier_digits.py --workdir runs/classifier_digits
    jresgen eval --workdir runs/classifier_digits --json

runs/classifier_digits is the feature network of configs/vae_digits.py's FID/KID.

Measured (2-core CPU, 1 device): 99.78% test accuracy (449/450) in 84 s wall for the whole
command (a rerun on the shared machine: 99.56%, 448/450, 53 s). sklearn's SVC() (RBF, defaults) on the same 16x16 split: 98.89%; on the 8x8
originals of the same split: 98.67%.
"""
from common_digits import apply_variant, classifier_config, tiny_schedule


def tiny(config):
    config = tiny_schedule(config)
    config.model.conv_features, config.model.hidden = (4, 8), (16, 16)
    return config


def get_config(variant=None):
    config = classifier_config("lenet", image_size=16, conv_features=(32, 64), hidden=(256, 128))
    config.data.max_shift = 1  # one-pixel translations: the training set has only 1,347 digits
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
