"""The base of the GAN configs (not an experiment itself): model, objective, two optimizers,
EMA, FID/KID evaluation and sample grids. jresgen/tasks/gan.py reads them."""
import ml_collections
from common_digits import tiny_schedule

from jresgen.config import base_config


def optimizer_section(learning_rate: float, b1: float, b2: float) -> ml_collections.ConfigDict:
    """One network's Adam (the keys of every optimizer section, plus its learning rate)."""
    section = base_config("gan").optimizer
    section.learning_rate = learning_rate
    section.b1, section.b2 = b1, b2
    return section


def gan_config(arch: str, resolution: int, channels: int, *, g_features: int,
               d_features: int, z_dim: int = 128, num_classes: int = 0) -> ml_collections.ConfigDict:
    config = base_config("gan")
    config.model = ml_collections.ConfigDict(dict(
        arch=arch,  # dcgan | sngan (ResNet G and D)
        resolution=resolution, channels=channels, z_dim=z_dim,
        num_classes=num_classes,  # > 0: conditional BN in G, projection D (sngan only)
        g_features=g_features,  # DCGAN: ngf; SNGAN: the width of G's 4x4 map and blocks
        d_features=d_features,  # DCGAN: ndf; SNGAN: D's width
        g_blocks=(),  # SNGAN widths per up block; empty: the paper's layout for `resolution`
        d_blocks=(),  # SNGAN (width, downsample) per D block; empty: the paper's layout
        spatial_latent=False,  # True: z is a map [h, w, z_dim], G is fully convolutional
        dtype="float32",
        remat="none"))  # SNGAN: per-block rematerialisation policy (jresgen/nn/remat.py)
    if arch == "dcgan":  # Radford et al.: Adam 2e-4, beta1 0.5; non-saturating loss
        lr_g = lr_d = 2e-4
        betas = (0.5, 0.999)
        gan = dict(loss="ns", n_dis=1)
    else:  # Miyato et al. (SNGAN, ResNet on CIFAR-10): Adam 2e-4, betas (0, 0.9), 5 D steps
        lr_g = lr_d = 2e-4
        betas = (0.0, 0.9)
        gan = dict(loss="hinge", n_dis=5)
    config.learning_rate = lr_g  # G's; D's is optimizer.d.learning_rate
    config.optimizer.g = optimizer_section(lr_g, *betas)
    config.optimizer.d = optimizer_section(lr_d, *betas)
    config.gan = ml_collections.ConfigDict(dict(
        gp_weight=10.0,  # wgan_gp only
        ema_decay=0.999,  # G's exponential moving average, used for samples and FID
        ema_start=0,  # steps before the EMA starts averaging (it follows G until then)
        **gan))
    config.evaluation = ml_collections.ConfigDict(dict(
        classifier_workdir="", num_samples=0, kid_subset_size=1000, kid_subsets=100))
    config.sampling = ml_collections.ConfigDict(dict(grid_rows=8, grid_cols=8, zoom=2,
                                                     batch_size=256))
    return config


def tiny_gan(config):
    """Seconds: a few steps of a narrow net."""
    config = tiny_schedule(config)
    config.gan.n_dis = min(config.gan.n_dis, 2)
    config.model.z_dim = 8
    config.model.g_features, config.model.d_features = 8, 8
    config.model.g_blocks = tuple(8 for _ in config.model.g_blocks)
    config.model.d_blocks = tuple((8, down) for _, down in config.model.d_blocks)
    config.evaluation.classifier_workdir = ""
    config.sampling.grid_rows, config.sampling.grid_cols = 2, 4
    return config
