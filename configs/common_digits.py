"""The bases of the digits configs (not experiments themselves): scikit-learn's 8x8 digits,
resized, split 75/25 stratified with a fixed seed (jresgen/data/digits.py)."""
import ml_collections

from jresgen.config import base_config


def digits_data(image_size: int, resize: str = "bilinear",
                max_shift: int = 0) -> ml_collections.ConfigDict:
    return ml_collections.ConfigDict(dict(
        name="digits",
        image_size=image_size,  # a multiple of 8
        resize=resize,  # nearest | bilinear (then rounded back to the 17 levels)
        test_fraction=0.25,  # 450 of the 1,797 digits
        split_seed=0,  # fixed apart from `seed`, so every run is scored on the same digits
        max_shift=max_shift,  # random translation of training images, in pixels
        eval_batch_size=128,
        # "embedded": scikit-learn's digits; "folder": the user's images, one sub-folder per
        # class (jresgen/data/class_folders.py), at image_size, split by test_fraction and
        # split_seed unless valid_dir is given.
        source="embedded",
        train_dir="",  # TRAIN/CLASS/IMAGE (folder source)
        valid_dir="",  # the same classes; "": test_fraction of each class of train_dir
        channels=1))  # folder source: images converted to 1 (luma) or 3 channels


def classifier_config(arch: str, image_size: int, **model) -> ml_collections.ConfigDict:
    config = base_config("classifier")
    # dtype: the computation's (bfloat16 on accelerators); parameters stay float32.
    config.model = ml_collections.ConfigDict(dict(arch=arch, num_classes=10,
                                                  **{"dtype": "float32", **model}))
    config.data = digits_data(image_size)
    return config


def apply_variant(config, variant, tiny):
    """`tiny(config)` shrinks the experiment to seconds, for tests and smoke runs."""
    if variant == "tiny":
        return tiny(config)
    if variant is not None:
        raise ValueError(f"unknown variant {variant!r} (known: tiny)")
    return config


def tiny_schedule(config):
    config.total_steps = 4
    config.batch_size = 8
    config.log_every = 1
    config.eval_every = 0
    config.checkpoint_every = 2
    config.data.eval_batch_size = 64
    return config


def tiny_resnet(config):
    """The `:tiny` variant of a ResNet classifier config: one block per stage, few channels."""
    config = tiny_schedule(config)
    config.model.arch = "resnet"
    config.model.stage_sizes, config.model.stage_features = (1, 1, 1), (4, 8, 8)
    return config


def vae_config(image_size: int, channels: int, levels: int) -> ml_collections.ConfigDict:
    config = base_config("vae")
    config.model = ml_collections.ConfigDict(dict(
        image_size=image_size, channels=channels,
        levels=levels,  # intensity levels of the data: the categorical likelihood's classes
        latent_dim=16, features=(32, 64),  # one ResidualDownBlock (halving) per entry
        norm="none", activation="silu",
        beta=1.0,  # weight of the KL term; 1 trains the ELBO proper
        prior="standard",  # N(0, I), or "mixture": learned mixture of Gaussians (models/vae.py)
        prior_components=10,  # of the mixture prior
        prior_param_scale=1.0,  # the mixture's parameters learn this many times faster
        dtype="float32"))
    config.evaluation = evaluation_config("")
    # Grids written at each evaluation and by `jresgen sample`.
    config.sampling = ml_collections.ConfigDict(dict(grid_rows=8, grid_cols=8, interp_steps=8,
                                                     zoom=2))
    return config


def evaluation_config(classifier_workdir: str) -> ml_collections.ConfigDict:
    """FID/KID of a generative model's samples (jresgen/train/scoring.py; README "Generative
    evaluation"): `classifier_workdir` is a classifier trained on the same data ("" skips)."""
    return ml_collections.ConfigDict(dict(
        classifier_workdir=classifier_workdir,
        num_samples=0,  # 0: as many as the real test split (the floor's count)
        kid_subset_size=1000,  # capped at the smaller set (450 test digits)
        kid_subsets=100))


def tiny_vae(config):
    config = tiny_schedule(config)
    config.evaluation.classifier_workdir = ""
    config.model.latent_dim, config.model.features = 4, (8, 8)
    config.sampling.grid_rows, config.sampling.grid_cols, config.sampling.interp_steps = 2, 4, 3
    return config


def resnet_sgd(config: ml_collections.ConfigDict) -> ml_collections.ConfigDict:
    """He et al.'s CIFAR ResNet recipe: SGD, momentum 0.9, weight decay 1e-4, batch 128,
    learning rate 0.1 divided by 10 at 50 % and 75 % of training (32k and 48k of 64k)."""
    config.batch_size = 128
    config.learning_rate = 0.1
    config.optimizer.name = "sgd"
    config.optimizer.momentum = 0.9
    config.optimizer.weight_decay = 1e-4
    config.optimizer.schedule = "step"
    config.optimizer.decay_boundaries = (0.5, 0.75)
    config.optimizer.decay_factor = 0.1
    return config
