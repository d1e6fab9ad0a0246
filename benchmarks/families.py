"""The model families the harness benchmarks: which jresgen config each one is, the batch it is
timed on, and how the PyTorch side builds, feeds and scores the same model.

A family's `adapter` holds everything that differs between task kinds; adding a family of an
existing kind is one line in FAMILIES.
"""
import dataclasses
from pathlib import Path

import numpy as np

CONFIGS = Path(__file__).resolve().parents[1] / "configs"


class Adapter:
    """What the harness asks of every family. The defaults fit a one-network model trained on
    one loss (SR, classifiers, the VAE); a family with another kind of step (the GAN)
    overrides them."""
    breakdown = True  # the forward / backward / conv-pass breakdown applies
    # A constant learning rate on both sides: the torch optimizers run without a scheduler
    # here, and jresgen's schedule costs a few scalar ops; the loss columns stay comparable.
    config_overrides = ("optimizer.schedule=constant",)

    @staticmethod
    def jax_params(state):
        """The trainable parameters of jresgen's state (counted on both sides)."""
        return state.params

    @classmethod
    def jax_export(cls, task, config, state, batch):
        """(the parameter tree the torch side loads, the output it must reproduce): the
        model's eval-mode forward on the benchmark batch."""
        model = task.build_model(config)
        out = model.apply({"params": state.params, **state.model_state},
                          *cls.model_args(config, batch), train=False)
        return state.params, np.asarray(cls.jax_output(out))

    @classmethod
    def torch_check_output(cls, config, model, batch):
        """The torch model's version of jax_export's output (weights already loaded)."""
        import torch
        model.eval()
        args = [torch.from_numpy(a) for a in cls.model_args(config, batch)]
        with torch.no_grad():
            x, _ = cls.torch_batch(config, batch, "cpu", torch.float32)
            return cls.torch_output(model(x, *args[1:]))  # extra inputs: VAE's eps

    @classmethod
    def device_loss(cls, config, device):
        """torch_loss on `device`: the style and texture losses are modules whose buffers (fixed
        filters, target Grams) must move with the model."""
        import torch
        loss = cls.torch_loss(config)
        return loss.to(device) if isinstance(loss, torch.nn.Module) else loss

    @classmethod
    def torch_step(cls, config, model, mode, device, dtype):
        """`step(x, y) -> loss`: zero_grad, the config's loss, backward, the torch.optim mirror
        of the config's optimizer; the model torch.compile'd (forward and backward) in mode
        'compile', the optimizer eager."""
        import torch
        from benchmarks.torch_side import autocast, make_optimizer
        optimizer = make_optimizer(config, model.parameters())
        loss_fn = cls.device_loss(config, device)
        net = torch.compile(model) if mode == "compile" else model

        def step(x, y):
            optimizer.zero_grad(set_to_none=True)
            with autocast(device, dtype):
                loss = loss_fn(net(x), y)
            loss.backward()
            optimizer.step()
            return loss
        return step

    @classmethod
    def torch_flops(cls, config, model, x, y, device, dtype) -> float:
        """FlopCounterMode's count of one forward + backward (optimizer math is not counted)."""
        from torch.utils.flop_counter import FlopCounterMode
        from benchmarks.torch_side import autocast
        counter = FlopCounterMode(display=False)
        with autocast(device, dtype), counter:
            cls.device_loss(config, device)(model(x), y).backward()
        model.zero_grad(set_to_none=True)
        return float(counter.get_total_flops())


class SRAdapter(Adapter):
    """Super-resolution: batches {"lr", "hr"} in [0, 1], L1 or L2 loss on the output."""

    @staticmethod
    def make_batch(config, batch_size: int, seed: int = 0) -> dict:
        p, s = config.data.patch_size, config.model.scale
        rng = np.random.default_rng(seed)
        return {"lr": rng.random((batch_size, p, p, 3), dtype=np.float32),
                "hr": rng.random((batch_size, p * s, p * s, 3), dtype=np.float32)}

    @staticmethod
    def model_args(config, batch) -> tuple:
        """The positional inputs of jresgen's model for this batch."""
        return (batch["lr"],)

    @staticmethod
    def jax_output(out):
        return out

    @staticmethod
    def jax_loss(config, model, model_state):
        """loss(params, batch) as jresgen's SR train step computes it, without the optimizer."""
        import jax.numpy as jnp
        loss_of = {"l1": lambda d: jnp.mean(jnp.abs(d)), "l2": lambda d: jnp.mean(d ** 2)}[
            config.model.loss]

        def loss(params, batch):
            out = model.apply({"params": params, **model_state}, batch["lr"], train=True)
            return loss_of(out - batch["hr"])
        return loss

    @staticmethod
    def conv_probe(config, batch) -> tuple:
        """(B, H, W, C_in, C_out, k) of the convolution that dominates the step: the residual
        blocks' 3x3."""
        b, h, w, _ = batch["lr"].shape
        return b, h, w, config.model.features, config.model.features, 3

    @staticmethod
    def torch_model(config):
        from benchmarks.torch_reference import sr
        return sr.from_config(config.model)

    @staticmethod
    def load_params(model, flax_params):
        from benchmarks.torch_reference import transfer
        transfer.load_sr(model, flax_params)

    @staticmethod
    def torch_batch(config, batch, device, dtype):
        """NHWC numpy -> NCHW tensors (inputs, targets)."""
        import torch
        def nchw(a):
            return torch.from_numpy(a).permute(0, 3, 1, 2).contiguous().to(device, dtype)
        return nchw(batch["lr"]), nchw(batch["hr"])

    @staticmethod
    def torch_loss(config):
        import torch
        return {"l1": torch.nn.L1Loss(), "l2": torch.nn.MSELoss()}[config.model.loss]

    @staticmethod
    def torch_output(out):
        """The torch model's output as jresgen lays it out (NHWC numpy)."""
        return out.detach().permute(0, 2, 3, 1).cpu().numpy()


class ClassifierAdapter(Adapter):
    """Classification: batches {"image" in [0, 1], "label" int32}, softmax cross-entropy."""

    @staticmethod
    def image_shape(config) -> tuple:
        channels = 1 if config.data.name == "digits" else 3
        return config.data.image_size, config.data.image_size, channels

    @classmethod
    def make_batch(cls, config, batch_size: int, seed: int = 0) -> dict:
        rng = np.random.default_rng(seed)
        return {"image": rng.random((batch_size, *cls.image_shape(config)), dtype=np.float32),
                "label": rng.integers(0, config.model.num_classes, batch_size, dtype=np.int32)}

    @staticmethod
    def model_args(config, batch) -> tuple:
        return (batch["image"],)

    @staticmethod
    def jax_output(out):
        return out

    @staticmethod
    def jax_loss(config, model, model_state):
        import optax

        def loss(params, batch):
            # As jresgen's train step: BatchNorm statistics updated, the update discarded here.
            logits, _ = model.apply({"params": params, **model_state}, batch["image"],
                                    train=True, mutable=list(model_state))
            return optax.softmax_cross_entropy_with_integer_labels(logits, batch["label"]).mean()
        return loss

    @staticmethod
    def conv_probe(config, batch) -> tuple:
        b, h, w, _ = batch["image"].shape
        if config.model.arch == "lenet":  # the second 5x5 conv, at half resolution
            c1, c2 = config.model.conv_features
            return b, h // 2, w // 2, c1, c2, 5
        f = tuple(config.model.get("stage_features", (16, 32, 64)))[0]
        return b, h, w, f, f, 3  # the first stage's 3x3, at full resolution

    @classmethod
    def torch_model(cls, config):
        from benchmarks.torch_reference import classifier
        size, _, channels = cls.image_shape(config)
        return classifier.from_config(config.model, channels, size)

    @staticmethod
    def load_params(model, flax_params):
        from benchmarks.torch_reference import transfer
        transfer.load_classifier(model, flax_params)

    @staticmethod
    def torch_batch(config, batch, device, dtype):
        import torch
        image = torch.from_numpy(batch["image"]).permute(0, 3, 1, 2).contiguous()
        return image.to(device, dtype), torch.from_numpy(batch["label"]).long().to(device)

    @staticmethod
    def torch_loss(config):
        import torch
        return torch.nn.CrossEntropyLoss()

    @staticmethod
    def torch_output(out):
        return out.detach().cpu().numpy()


class VAEAdapter(Adapter):
    """VAE: batches {"image"} on the data's levels; loss = mean negative ELBO, one z per image.
    Each side draws eps with its own RNG inside the step (same shapes, different numbers).
    The reference is the N(0, I)-prior VAE: the config's learned mixture prior (50 Gaussians
    over 16 dimensions, a few kFLOP per image) is switched off on the jresgen side."""
    config_overrides = (*Adapter.config_overrides, "model.prior=standard")

    @staticmethod
    def make_batch(config, batch_size: int, seed: int = 0) -> dict:
        m = config.model
        rng = np.random.default_rng(seed)
        levels = rng.integers(0, m.levels, (batch_size, m.image_size, m.image_size, m.channels))
        return {"image": (levels / (m.levels - 1)).astype(np.float32)}

    @staticmethod
    def model_args(config, batch) -> tuple:
        """(images, eps): a fixed eps so the two sides' outputs can be compared."""
        images = batch["image"]
        eps = np.random.default_rng(1).standard_normal((images.shape[0],
                                                        config.model.latent_dim))
        return images, eps.astype(np.float32)

    @staticmethod
    def jax_output(out):
        return out[0]  # logits [B, S, S, C, levels]

    @staticmethod
    def jax_loss(config, model, model_state):
        import jax.numpy as jnp
        from jresgen.tasks.vae import negative_elbo

        def loss(params, batch):
            # The step draws eps from its key; a fixed one (zeros unless given) costs the same.
            eps = batch.get("eps", jnp.zeros((batch["image"].shape[0], config.model.latent_dim)))
            (per_image, _, _), _ = negative_elbo(model, {"params": params, **model_state},
                                                 batch["image"], eps, config.model.beta,
                                                 train=True, mutable=list(model_state))
            return per_image.mean()
        return loss

    @staticmethod
    def conv_probe(config, batch) -> tuple:
        b, h, w, _ = batch["image"].shape
        f = tuple(config.model.features)[0]
        return b, h, w, f, f, 3  # the full-resolution 3x3s of the encoder and the decoder

    @staticmethod
    def torch_model(config):
        from benchmarks.torch_reference import vae
        return vae.from_config(config.model)

    @staticmethod
    def load_params(model, flax_params):
        from benchmarks.torch_reference import transfer
        transfer.load_vae(model, flax_params)

    @staticmethod
    def torch_batch(config, batch, device, dtype):
        """(images, integer levels [B, C, S, S]): the likelihood's targets."""
        import torch
        image = torch.from_numpy(batch["image"]).permute(0, 3, 1, 2).contiguous()
        levels = torch.round(image * (config.model.levels - 1)).long()
        return image.to(device, dtype), levels.to(device)

    @staticmethod
    def torch_loss(config):
        from benchmarks.torch_reference.vae import NegativeELBO
        return NegativeELBO(config.model.beta)

    @staticmethod
    def torch_output(out):
        return out[0].detach().permute(0, 3, 4, 1, 2).cpu().numpy()


class GANAdapter(Adapter):
    """GANs: batches {"image": [B, n_dis, H, W, C] in [0, 1]} (one real batch per D update,
    jresgen/data/gan.py); one step = n_dis discriminator updates and one generator update on
    both sides (torch_reference/gan.TrainStep mirrors jresgen/tasks/gan.train_step). Each side
    draws its latents with its own RNG inside the step, so the loss columns agree in size, not
    digit for digit; the equivalence test feeds jresgen's latents to torch and checks equality.
    The transfer check compares D(G(z)) in training mode (BatchNorm batch statistics, one
    power iteration of spectral norm) for a fixed z."""
    breakdown = False  # two networks and two losses: the one-model cuts do not apply
    config_overrides = ("optimizer.g.schedule=constant", "optimizer.d.schedule=constant")

    @staticmethod
    def make_batch(config, batch_size: int, seed: int = 0) -> dict:
        m = config.model
        rng = np.random.default_rng(seed)
        return {"image": rng.random((batch_size, config.gan.n_dis, m.resolution, m.resolution,
                                     m.channels), dtype=np.float32)}

    @staticmethod
    def model_args(config, batch) -> tuple:
        """(z,): the fixed latents of the transfer check."""
        z = np.random.default_rng(1).standard_normal((batch["image"].shape[0],
                                                      config.model.z_dim))
        return (z.astype(np.float32),)

    @staticmethod
    def jax_params(state):
        return {"generator": state.g_params, "discriminator": state.d_params}

    @classmethod
    def jax_export(cls, task, config, state, batch):
        g, d = task.build_model(config)
        (z,) = cls.model_args(config, batch)
        fake, _ = g.apply({"params": state.g_params, **state.g_state}, z, train=True,
                          mutable=list(state.g_state))
        out, _ = d.apply({"params": state.d_params, **state.d_state}, fake, train=True,
                         mutable=list(state.d_state))
        tree = {"generator": state.g_params, "discriminator": state.d_params,
                "spectral_norm": state.d_state.get("spectral_norm", {})}
        return tree, np.asarray(out)

    @classmethod
    def torch_check_output(cls, config, model, batch):
        import copy

        import torch
        (z,) = cls.model_args(config, batch)
        with torch.no_grad():  # a copy: training mode moves BatchNorm and power-iteration state
            return copy.deepcopy(model).train()(torch.from_numpy(z)).numpy()

    @staticmethod
    def torch_model(config):
        from benchmarks.torch_reference import gan
        return gan.from_config(config.model)

    @staticmethod
    def load_params(model, tree):
        from benchmarks.torch_reference import transfer
        transfer.load_gan(model, tree)

    @staticmethod
    def torch_batch(config, batch, device, dtype):
        """(real images [B, n_dis, C, H, W] in [-1, 1], None)."""
        import torch
        real = torch.from_numpy(batch["image"]).permute(0, 1, 4, 2, 3).contiguous() * 2 - 1
        return real.to(device, dtype), None

    @staticmethod
    def torch_trainer(config, model, mode="eager"):
        """torch_reference/gan.TrainStep with the config's two optimizers (torch.optim mirrors
        of optimizer.g and optimizer.d); G and D torch.compile'd in mode 'compile'."""
        import types

        import torch
        from benchmarks.torch_reference.gan import TrainStep
        from benchmarks.torch_side import make_optimizer

        def optimizer(name, net):
            section = config.optimizer[name]
            lr = section.get("learning_rate", config.learning_rate)
            return make_optimizer(types.SimpleNamespace(optimizer=section, learning_rate=lr),
                                  net.parameters())
        nets = ((torch.compile(model.generator), torch.compile(model.discriminator))
                if mode == "compile" else (None, None))
        return TrainStep(model, optimizer("g", model.generator),
                         optimizer("d", model.discriminator), config.gan.loss,
                         separate=config.model.arch == "dcgan", generator=nets[0],
                         discriminator=nets[1])

    @classmethod
    def torch_step(cls, config, model, mode, device, dtype):
        from benchmarks.torch_side import autocast
        trainer = cls.torch_trainer(config, model, mode)

        def step(x, y):
            with autocast(device, dtype):
                return trainer.step(x)
        return step

    @classmethod
    def torch_flops(cls, config, model, x, y, device, dtype) -> float:
        """FlopCounterMode's count of one whole GAN step, on a copy (the step trains it)."""
        import copy

        from torch.utils.flop_counter import FlopCounterMode
        from benchmarks.torch_side import autocast
        trainer = cls.torch_trainer(config, copy.deepcopy(model))
        counter = FlopCounterMode(display=False)
        with autocast(device, dtype), counter:
            trainer.step(x)
        return float(counter.get_total_flops())


class StyleAdapter(Adapter):
    """Fast style transfer: batches {"image": [B, p, p, 3]} photo crops in [0, 1]; the loss is
    content + style (Gram) + total variation over jresgen's fixed random features, with the
    style's Gram matrices precomputed on both sides (torch_reference/style.StyleLoss)."""

    @staticmethod
    def make_batch(config, batch_size: int, seed: int = 0) -> dict:
        p = config.data.patch_size
        return {"image": np.random.default_rng(seed).random((batch_size, p, p, 3),
                                                           dtype=np.float32)}

    @staticmethod
    def model_args(config, batch) -> tuple:
        return (batch["image"],)

    @staticmethod
    def jax_output(out):
        return out

    @classmethod
    def jax_export(cls, task, config, state, batch):
        out = task.build_model(config).apply({"params": state.params}, batch["image"])
        return state.params, np.asarray(out)

    @staticmethod
    def jax_loss(config, model, model_state):
        """loss(params, batch) as jresgen's style step computes it; the style statistics are
        computed here, outside the traced loss, as the state holds them."""
        import jax
        from jresgen.tasks.style_transfer import losses, style_statistics
        statistics = jax.device_get(style_statistics(config))

        def loss(params, batch):
            out = model.apply({"params": params}, batch["image"])
            return losses(config, statistics, batch["image"], out)["loss"]
        return loss

    @staticmethod
    def conv_probe(config, batch) -> tuple:
        """The residual blocks' 3x3 convs, at a quarter of the resolution."""
        b, h, w, _ = batch["image"].shape
        f = tuple(config.model.features)[-1]
        return b, h // 4, w // 4, f, f, 3

    @staticmethod
    def torch_model(config):
        from benchmarks.torch_reference import style
        return style.from_config(config.model)

    @staticmethod
    def load_params(model, flax_params):
        from benchmarks.torch_reference import transfer
        transfer.load_style(model, flax_params)

    @staticmethod
    def torch_batch(config, batch, device, dtype):
        """(images, images): the content target is the input itself."""
        import torch
        x = torch.from_numpy(batch["image"]).permute(0, 3, 1, 2).contiguous().to(device, dtype)
        return x, x

    @staticmethod
    def torch_loss(config):
        from benchmarks.torch_reference.style import loss_from_config
        return loss_from_config(config)

    @staticmethod
    def torch_output(out):
        return out.detach().permute(0, 2, 3, 1).cpu().numpy()


class TextureNetAdapter(Adapter):
    """Feed-forward texture networks: batches {"index": int32 [B]} (jresgen draws each sample's
    multi-scale noise from its index inside the step); the loss is the relative Gram error of
    the outputs' random features against the exemplar's (jresgen/tasks/texture_net.py). The
    PyTorch side gets jresgen's noise as its input, and the same filters and target Grams."""
    # The feature network's forward and backward is a large part of the step, so the
    # generator-only forward / backward cuts would not describe it.
    breakdown = False
    # The work the family has always timed, whatever the config trains today: 128x128 patches
    # and the plain Gram loss (one pyramid level, no shifted Grams, no random shifts) over the
    # average-pooled random features against the exemplar at full scale, so past timings and
    # losses stay comparable and the PyTorch reference (which has only that loss) matches.
    config_overrides = (*Adapter.config_overrides, "data.patch_size=128", "loss.pyramid=1",
                        "loss.batch_gram=false", "loss.level_weights=()",
                        "loss.fine_ramp_steps=0", "loss.shift_grams=()",
                        "loss.random_shift=false", "features.pooling=average",
                        "data.exemplar_scale=1.0")

    @staticmethod
    def make_batch(config, batch_size: int, seed: int = 0) -> dict:
        return {"index": np.arange(seed * batch_size, (seed + 1) * batch_size, dtype=np.int32)}

    @staticmethod
    def jax_noises(config, indices) -> list:
        """The noise jresgen's first step draws for samples `indices`, NHWC per scale."""
        import jax
        from jresgen.tasks import texture_net
        model = texture_net.build_model(config)
        size = config.data.patch_size
        rng = jax.random.split(jax.random.PRNGKey(config.seed))[1]  # init_state's state key
        return texture_net.draw_noise(model, rng, indices, size, size)

    @classmethod
    def noises(cls, config, batch) -> list:
        return [np.asarray(z) for z in cls.jax_noises(config, batch["index"])]

    @classmethod
    def model_args(cls, config, batch) -> tuple:
        return (cls.noises(config, batch),)

    @staticmethod
    def jax_output(out):
        return out

    @classmethod
    def jax_export(cls, task, config, state, batch):
        out = task.build_model(config).apply({"params": state.params},
                                             *cls.model_args(config, batch))
        return state.params, np.asarray(out)

    @staticmethod
    def jax_loss(config, model, model_state):
        """loss(params, batch) as jresgen's step computes it; the fixed filters and target
        Grams computed here (as the state holds them), so any model_state serves."""
        from jresgen.tasks import texture_net
        extractor, targets = texture_net.feature_statistics(config)
        fixed = {"feature_params": extractor.params, "target_grams": targets}

        def loss(params, batch):
            noises = TextureNetAdapter.jax_noises(config, batch["index"])
            return texture_net.texture_loss(config, params, fixed, noises)[0]
        return loss

    @staticmethod
    def conv_probe(config, batch) -> tuple:
        p, f = config.data.patch_size, config.model.features
        return len(batch["index"]), p, p, f, f, 3  # the finest scale's 3x3s

    @staticmethod
    def torch_model(config):
        from benchmarks.torch_reference import texture
        from jresgen.tasks.texture_net import output_channels
        return texture.from_config(config.model, output_channels(config))

    @staticmethod
    def load_params(model, flax_params):
        from benchmarks.torch_reference import transfer
        transfer.load_texture(model, flax_params)

    @classmethod
    def torch_batch(cls, config, batch, device, dtype):
        """(jresgen's noise list as NCHW tensors, None: the target Grams live in the loss)."""
        import torch
        return [torch.from_numpy(z).permute(0, 3, 1, 2).contiguous().to(device, dtype)
                for z in cls.noises(config, batch)], None

    @classmethod
    def torch_check_output(cls, config, model, batch):
        import torch
        model.eval()
        x, _ = cls.torch_batch(config, batch, "cpu", torch.float32)
        with torch.no_grad():
            return cls.torch_output(model(x))

    @staticmethod
    def torch_loss(config):
        from benchmarks.torch_reference import texture
        return texture.loss_from_config(config)

    @staticmethod
    def torch_output(out):
        return out.detach().permute(0, 2, 3, 1).cpu().numpy()


@dataclasses.dataclass(frozen=True)
class Family:
    name: str
    config: str  # file under configs/
    batch: int  # default global batch of the CPU benchmark
    adapter: type
    patch_size: int | None = None  # overrides config.data.patch_size on the CPU when set (SR)
    # On a GPU the CPU sizes leave the chip idle (the step is a few kernel launches): the
    # default batch there, and the config's own patch size (the paper's, e.g. EDSR's 48).
    gpu_batch: int | None = None

    def default_batch(self, device: str) -> int:
        return (self.gpu_batch or self.batch) if device == "gpu" else self.batch

    def load_config(self, batch_size: int, dtype: str = "float32", device: str = "cpu"):
        from jresgen.config import apply_overrides, load_config
        config = load_config(str(CONFIGS / self.config))
        overrides = [f"batch_size={batch_size}", *self.adapter.config_overrides]
        if "dtype" in config.model:  # jresgen's computation dtype; parameters stay float32
            overrides.append(f"model.dtype={dtype}")
        elif dtype != "float32":
            raise SystemExit(f"{self.name}: this jresgen version has no model.dtype key")
        if self.patch_size and device == "cpu":
            overrides.append(f"data.patch_size={self.patch_size}")
        apply_overrides(config, overrides)
        return config


# Sized so the whole CPU run (six families, two XLA settings, two strategies, eager and
# compiled PyTorch, the breakdown) stays near a quarter of an hour on two cores. The classifier
# and VAE batches are their configs' own; SR batches are smaller, and EDSR-baseline runs on
# 24x24 LR patches instead of 48 (a conv net's work per pixel does not depend on the patch
# size; 48 would make each EDSR step four times longer). On a GPU (gpu_batch): the configs'
# patch sizes, EDSR at its paper's batch (16 of 48x48), the 32x32 models at 64-256, SNGAN at
# its config's 64.
FAMILIES = {f.name: f for f in (
    Family("sr_seed_net", "sr_seed_net.py", batch=8, gpu_batch=64, adapter=SRAdapter),
    Family("sr_x2", "sr_x2.py", batch=16, gpu_batch=64, adapter=SRAdapter),
    Family("edsr_baseline_x2", "edsr_baseline_x2.py", batch=4, adapter=SRAdapter, patch_size=24,
           gpu_batch=16),
    Family("lenet_digits", "classifier_digits.py", batch=64, gpu_batch=256,
           adapter=ClassifierAdapter),
    Family("resnet20_cifar10", "resnet20_cifar10.py", batch=128, adapter=ClassifierAdapter),
    Family("vae_digits", "vae_digits.py", batch=64, gpu_batch=256, adapter=VAEAdapter),
    # GANs: one step is n_dis D updates and one G update (DCGAN 1 + 1, SNGAN 5 + 1). The
    # DCGANs at their configs' batches; SNGAN-CIFAR at 4 instead of 64: its 256-wide generator
    # at 32x32 runs six times per step, ~43 GFLOP per batch element, seconds per step here.
    Family("dcgan_digits", "dcgan_digits.py", batch=64, gpu_batch=128, adapter=GANAdapter),
    Family("dcgan_cifar10", "dcgan_cifar10.py", batch=128, adapter=GANAdapter),
    Family("sngan_cifar10", "sngan_cifar10.py", batch=4, gpu_batch=64, adapter=GANAdapter),
    # the brick texture net at batch 4 of 128x128 patches with the plain Gram loss at full
    # scale (the config trains on more terms, half scale: TextureNetAdapter.config_overrides)
    Family("texture_net_brick", "texture_net_brick.py", batch=4, gpu_batch=16,
           adapter=TextureNetAdapter),
    # pytorch/examples' TransformerNet on the config's 64x64 crops, batch 4 (the config's).
    Family("style_transfer", "style_transfer.py", batch=4, gpu_batch=16, adapter=StyleAdapter),
)}


def get(name: str) -> Family:
    if name not in FAMILIES:
        raise SystemExit(f"unknown family {name!r}; known: {', '.join(FAMILIES)}")
    return FAMILIES[name]
