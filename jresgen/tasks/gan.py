"""Generative adversarial networks: the pure functions their training needs, and sampling.

One call of `train_step` is one generator update preceded by `n_dis` discriminator updates
(unrolled in straight-line code), so the whole GAN iteration is one compiled program.

Batches are {"image": [B, n_dis, H, W, C] in [0, 1], "label": int32 [B, n_dis] (conditional
models)}: slice i along axis 1 is the real batch of discriminator step i (jresgen/data/gan.py).
Images enter the networks in [-1, 1].

Randomness: the latent (and fake class) of sample k of the global batch in discriminator step i
comes from the state's key folded with the step, with i (the generator step uses i = n_dis) and
with k, the global index; so draws are independent per device and per step, and 1 and N devices
draw the same latents.

The state holds G and D parameters, their non-trainable variables (BatchNorm statistics, the
spectral-norm power-iteration vectors), both optimizer states and the exponential moving
average of G's parameters, which `sample_images` and `evaluate` use.
"""
import functools
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import struct

from jresgen.data.image_io import image_grid
from jresgen.errors import UserError
from jresgen.models import gan as gan_models
from jresgen.tasks import gan_losses
from jresgen.tasks.state import mean_over_devices, step_rng

EVAL_SEED_TAG = 0x5A3  # evaluation's latents, apart from any training step's


class GANState(struct.PyTreeNode):
    step: jax.Array
    g_params: Any
    g_state: Any  # G's BatchNorm statistics
    d_params: Any
    d_state: Any  # D's spectral-norm vectors / BatchNorm statistics
    g_opt_state: Any
    d_opt_state: Any
    ema_params: Any  # exponential moving average of g_params
    rng: jax.Array
    g_tx: optax.GradientTransformation = struct.field(pytree_node=False)
    d_tx: optax.GradientTransformation = struct.field(pytree_node=False)
    g_schedule: Callable = struct.field(pytree_node=False)
    d_schedule: Callable = struct.field(pytree_node=False)


def build_model(config, axis_name=None):
    """(generator, discriminator) of `config.model`."""
    try:
        return (gan_models.build_generator(config.model, axis_name),
                gan_models.build_discriminator(config.model, axis_name))
    except ValueError as e:
        raise UserError(f"config.model: {e}") from e


def latent_factor(config, generator) -> int:
    """How many output pixels a spatial (texture) generator makes per latent position along
    each side (2 per up-sampling block); 1 for a vector latent."""
    return 2 ** len(generator.blocks) if config.model.get("spatial_latent", False) else 1


def latent_shape(config, generator, image_shape) -> tuple[int, ...]:
    """One sample's latent: [z_dim], or [h, w, z_dim] for a spatial (texture) generator whose
    output is `image_shape` [H, W, C]."""
    m = config.model
    if not m.get("spatial_latent", False):
        return (m.z_dim,)
    factor = latent_factor(config, generator)
    return (image_shape[0] // factor, image_shape[1] // factor, m.z_dim)


def draw_latents(rng, indices, shape, num_classes: int):
    """(z [len(indices), *shape], labels [len(indices)] or None): row k from `rng` folded with
    indices[k], standard normal z and uniform labels."""
    keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(indices)
    z = jax.vmap(lambda k: jax.random.normal(k, shape))(keys)
    if not num_classes:
        return z, None
    labels = jax.vmap(lambda k: jax.random.randint(jax.random.fold_in(k, 1), (), 0,
                                                   num_classes))(keys)
    return z, labels


def _optimizer(make_optimizer, config, name):
    """G's or D's (tx, schedule) from `config.optimizer.g` / `.d`; D's schedule counts its own
    updates, n_dis per step."""
    section = config.optimizer[name]
    updates = config.total_steps * (config.gan.n_dis if name == "d" else 1)
    return make_optimizer(section, section.get("learning_rate", config.learning_rate), updates)


def init_state(config, rng, batch, make_optimizer) -> GANState:
    g_model, d_model = build_model(config)
    g_rng, d_rng, state_rng = jax.random.split(rng, 3)
    image = jnp.asarray(batch["image"][:1, 0]) * 2 - 1
    z = jnp.zeros((1, *latent_shape(config, g_model, image.shape[1:])))
    labels = jnp.zeros((1,), jnp.int32) if config.model.num_classes else None
    g_vars = dict(g_model.init(g_rng, z, train=False, labels=labels))
    d_vars = dict(d_model.init(d_rng, image, train=False, labels=labels))
    g_params, d_params = g_vars.pop("params"), d_vars.pop("params")
    (g_tx, g_schedule), (d_tx, d_schedule) = (_optimizer(make_optimizer, config, "g"),
                                              _optimizer(make_optimizer, config, "d"))
    return GANState(step=jnp.zeros((), jnp.int32), g_params=g_params, g_state=g_vars,
                    d_params=d_params, d_state=d_vars, g_opt_state=g_tx.init(g_params),
                    d_opt_state=d_tx.init(d_params),
                    # a copy: one buffer in two leaves of a donated state cannot be donated
                    ema_params=jax.tree.map(jnp.copy, g_params), rng=state_rng,
                    g_tx=g_tx, d_tx=d_tx, g_schedule=g_schedule, d_schedule=d_schedule)


def _discriminate(d_model, params, d_state, real, fake, real_labels, fake_labels, separate):
    """D's outputs on the real and the fake batch and D's updated state. DCGAN scores the two
    batches in separate calls (each with its own BatchNorm statistics, as its reference does);
    otherwise one call on both, so spectral norm's power iteration advances once per step."""
    mutable = list(d_state)
    if separate:
        real_out, d_state = d_model.apply({"params": params, **d_state}, real, train=True,
                                          labels=real_labels, mutable=mutable)
        fake_out, d_state = d_model.apply({"params": params, **d_state}, fake, train=True,
                                          labels=fake_labels, mutable=mutable)
        return real_out, fake_out, dict(d_state)
    labels = None if real_labels is None else jnp.concatenate([real_labels, fake_labels])
    out, d_state = d_model.apply({"params": params, **d_state},
                                 jnp.concatenate([real, fake]), train=True, labels=labels,
                                 mutable=mutable)
    return out[:len(real)], out[len(real):], dict(d_state)


def train_step(state: GANState, batch, *, config, axis_name=None):
    g_model, d_model = build_model(config, axis_name)
    gan, m = config.gan, config.model
    images = batch["image"] * 2 - 1  # [b, n_dis, H, W, C]
    real_labels = batch["label"] if m.num_classes else None
    b, n_dis = images.shape[:2]
    first = 0 if axis_name is None else jax.lax.axis_index(axis_name) * b
    index = first + jnp.arange(b)
    rng = step_rng(state)
    z_shape = latent_shape(config, g_model, images.shape[2:])
    separate = m.arch == "dcgan"

    def generate(g_params, g_state, key):
        z, fake_labels = draw_latents(key, index, z_shape, m.num_classes)
        fake, g_state = g_model.apply({"params": g_params, **g_state}, z, train=True,
                                      labels=fake_labels, mutable=list(g_state))
        return fake, fake_labels, dict(g_state)

    def d_update(carry, i):
        g_state, d_params, d_state, d_opt_state = carry
        key = jax.random.fold_in(rng, i)
        fake, fake_labels, g_state = generate(state.g_params, g_state, key)
        fake = jax.lax.stop_gradient(fake)
        real = images[:, i]
        labels_i = None if real_labels is None else real_labels[:, i]

        def loss_fn(d_params):
            real_out, fake_out, new_d_state = _discriminate(
                d_model, d_params, d_state, real, fake, labels_i, fake_labels, separate)
            loss = gan_losses.discriminator_loss(gan.loss, real_out, fake_out)
            if gan.loss == "wgan_gp":
                t = jax.random.uniform(jax.random.fold_in(key, 2), (b,))
                critic = functools.partial(_critic, d_model, d_params, new_d_state,
                                           labels_i)
                loss = loss + gan.gp_weight * gan_losses.gradient_penalty(critic, real, fake, t)
            return loss, (new_d_state, real_out.mean(), fake_out.mean())

        (loss, (d_state, real_mean, fake_mean)), grads = \
            jax.value_and_grad(loss_fn, has_aux=True)(d_params)
        grads, loss, real_mean, fake_mean = mean_over_devices(
            (grads, loss, real_mean, fake_mean), axis_name)
        updates, d_opt_state = state.d_tx.update(grads, d_opt_state, d_params)
        d_params = optax.apply_updates(d_params, updates)
        metrics = {"d_loss": loss, "d_real": real_mean, "d_fake": fake_mean,
                   "d_grad_norm": optax.tree.norm(grads)}
        return (g_state, d_params, d_state, d_opt_state), metrics

    carry = (state.g_state, state.d_params, state.d_state, state.d_opt_state)
    # A Python loop, not lax.scan: XLA:CPU runs the gradient convolutions of a loop body some
    # 30x slower than the same convolutions outside one (jax-ml/jax#12868; 2.3 s against
    # 0.077 s per sngan_digits step here), and even a fully unrolled scan keeps its body a
    # called computation in which the strided convs' weight gradients miss XLA:CPU's library
    # convolution (dcgan_digits: 430 ms against 60 ms per step). n_dis is small.
    d_metrics = []
    for i in range(n_dis):
        carry, metrics_i = d_update(carry, i)
        d_metrics.append(metrics_i)
    g_state, d_params, d_state, d_opt_state = carry
    d_metrics = jax.tree.map(lambda *v: jnp.stack(v), *d_metrics)

    def g_loss_fn(g_params):
        fake, fake_labels, new_g_state = generate(g_params, g_state, jax.random.fold_in(rng, n_dis))
        fake_out, new_d_state = d_model.apply({"params": d_params, **d_state}, fake, train=True,
                                              labels=fake_labels, mutable=list(d_state))
        return gan_losses.generator_loss(gan.loss, fake_out), (new_g_state, dict(new_d_state))

    (g_loss, (g_state, d_state)), g_grads = \
        jax.value_and_grad(g_loss_fn, has_aux=True)(state.g_params)
    g_grads, g_loss = mean_over_devices((g_grads, g_loss), axis_name)
    updates, g_opt_state = state.g_tx.update(g_grads, state.g_opt_state, state.g_params)
    g_params = optax.apply_updates(state.g_params, updates)
    # EMA from `ema_start` on; before it the average simply follows G
    decay = jnp.where(state.step >= gan.ema_start, gan.ema_decay, 0.0)
    ema = jax.tree.map(lambda e, p: decay * e + (1 - decay) * p, state.ema_params, g_params)

    new_state = state.replace(step=state.step + 1, g_params=g_params, g_state=g_state,
                              d_params=d_params, d_state=d_state, g_opt_state=g_opt_state,
                              d_opt_state=d_opt_state, ema_params=ema)
    metrics = {k: v.mean() for k, v in d_metrics.items()}
    metrics.update({"g_loss": g_loss, "g_grad_norm": optax.tree.norm(g_grads),
                    # a single NaN sentinel for the loop; the two losses are the figures
                    "loss": metrics["d_loss"] + g_loss,
                    "learning_rate_g": state.g_schedule(state.step),
                    "learning_rate_d": state.d_schedule(state.step * n_dis)})
    return new_state, metrics


def _critic(d_model, d_params, d_state, labels, x):
    """D's outputs without updating its state (the gradient penalty's function of x)."""
    return d_model.apply({"params": d_params, **d_state}, x, train=False, labels=labels)


@functools.partial(jax.jit, static_argnames=("g_model",))
def _generate(g_model, variables, z, labels):
    return g_model.apply(variables, z, train=False, labels=labels)


def sample_images(config, state: GANState, num: int, seed: int, *, size=None, label=None):
    """(images [num, H, W, C] in [0, 1], labels [num] or None) from the EMA generator, z_k from
    PRNGKey(seed) folded with k. `size` (H, W) for a spatial (texture) generator, `label` a class
    for a conditional one (default: classes drawn uniformly)."""
    m = config.model
    if num <= 0:
        raise UserError(f"the number of samples must be positive, got {num}")
    if size is not None and not m.get("spatial_latent", False):
        raise UserError(f"this GAN has a fixed output size ({m.resolution}x{m.resolution}); "
                        f"--size needs a texture GAN (model.spatial_latent)")
    if label is not None and not m.num_classes:
        raise UserError("this GAN is unconditional; --class needs a class-conditional model")
    if label is not None and not 0 <= label < m.num_classes:
        raise UserError(f"--class must be in 0..{m.num_classes - 1}, got {label}")
    g_model, _ = build_model(config)
    factor = latent_factor(config, g_model)
    out_h, out_w = size or (m.resolution, m.resolution)
    # a spatial generator makes multiples of `factor`; a larger map is made and cropped
    padded = (-(-out_h // factor) * factor, -(-out_w // factor) * factor)
    z_shape = latent_shape(config, g_model, padded)
    z, labels = draw_latents(jax.random.PRNGKey(seed), jnp.arange(num), z_shape, m.num_classes)
    if label is not None:
        labels = jnp.full((num,), label, jnp.int32)
    variables = jax.device_put({"params": state.ema_params, **state.g_state})
    batch = config.sampling.get("batch_size", 256)
    images = np.concatenate([
        np.asarray(_generate(g_model, variables, z[i:i + batch],
                             None if labels is None else labels[i:i + batch]))
        for i in range(0, num, batch)])
    images = (images[:, :out_h, :out_w] + 1) / 2
    return images, (None if labels is None else np.asarray(labels))


def evaluate(config, state: GANState, eval_data) -> tuple[dict, dict]:
    """FID/KID of the EMA generator's samples against the real data through the configured
    classifier's features (with the real-data floor and the class histogram, see
    jresgen/metrics/generative.py), when `eval_data` carries a scorer; and a sample grid drawn
    from the same latents at every evaluation, so successive grids show G changing."""
    s = config.sampling
    grid_n = s.grid_rows * s.grid_cols
    summary = {}
    scorer = eval_data.get("scorer") if isinstance(eval_data, dict) else None
    if scorer is not None:
        num = scorer.default_num_samples(config.evaluation.num_samples)
        fake, labels = sample_images(config, state, num, config.seed + EVAL_SEED_TAG)
        fake = np.round(np.clip(fake, 0, 1) * 255) / 255  # scored as the 8-bit images saved
        summary.update(scorer.score(fake))
        if labels is not None:
            summary.update(class_agreement(scorer.network, fake, labels))
    grid_images, _ = _grid_samples(config, state, grid_n)
    grids = {"samples": image_grid(grid_images, s.grid_cols, s.zoom)}
    if config.model.get("spatial_latent", False) and "exemplar" in eval_data:
        summary.update(_texture_scores(config, state, eval_data["exemplar"], grids))
    return summary, grids


def class_agreement(network, images, labels) -> dict:
    """How often the feature network's classifier sees the class a conditional G was asked
    for: overall and per class (a fraction each)."""
    _, logits = network.embed(images)
    hit = np.argmax(logits, -1) == np.asarray(labels)
    per_class = [float(hit[labels == k].mean()) if np.any(labels == k) else None
                 for k in range(logits.shape[-1])]
    return {"class_agreement": float(hit.mean()), "class_agreement_per_class": per_class}


def _texture_scores(config, state, exemplar, grids) -> dict:
    """A texture GAN's 256x256 sample (into `grids`) and its Gram distance to the exemplar,
    beside the floor (two halves of the exemplar) and the start (noise), as `jresgen texture`
    reports them (jresgen/texture/synthesis.py)."""
    from jresgen.texture.synthesis import distances

    size = config.sampling.get("texture_size", 256)
    texture, _ = sample_images(config, state, 1, config.seed, size=(size, size))
    grids[f"texture_{size}"] = np.round(texture[0] * 255).astype(np.uint8)
    rgb = np.broadcast_to(exemplar, exemplar.shape[:2] + (3,))
    scores = distances(np.ascontiguousarray(rgb), texture[0], seed=config.seed)
    return {k: v for k, v in scores.items() if k.startswith("gram_distance")}


def _grid_samples(config, state, num):
    """A conditional model's grid has one class per row (rows cycle through the classes)."""
    m = config.model
    if not m.num_classes:
        return sample_images(config, state, num, config.seed)
    cols = config.sampling.grid_cols
    rows = []
    for r in range(-(-num // cols)):
        images, _ = sample_images(config, state, cols, config.seed + r, label=r % m.num_classes)
        rows.append(images)
    return np.concatenate(rows)[:num], None


def format_report(summary: dict) -> str:
    if "gram_distance" in summary:
        return (f"Gram distance of a 256x256 sample to the exemplar {summary['gram_distance']:.4g} "
                f"(floor, two halves of the exemplar: {summary['gram_distance_floor']:.4g}; "
                f"noise: {summary['gram_distance_noise']:.4g})")
    if "fid" not in summary:
        return "no FID/KID: set evaluation.classifier_workdir to a classifier trained on the data"
    hist = summary["class_histogram"]
    covered = sum(1 for c in hist if c > 0)
    line = (f"FID {summary['fid']:.2f} (real-data floor {summary['fid_floor']:.2f}), "
            f"KID {summary['kid']:.4f} (floor {summary['kid_floor']:.4f}) over "
            f"{summary['num_samples']} samples; classes seen {covered}/{len(hist)}: {hist}")
    if "class_agreement" in summary:
        line += (f"; the classifier agrees with the requested class on "
                 f"{100 * summary['class_agreement']:.1f}% of the samples")
    return line


def eval_headline(summary: dict) -> dict[str, float]:
    if "gram_distance" in summary:
        return {"gram_distance": summary["gram_distance"]}
    if "fid" not in summary:
        return {}
    headline = {"fid": summary["fid"], "kid": summary["kid"]}
    if "class_agreement" in summary:
        headline["class_agreement"] = summary["class_agreement"]
    return headline
