"""Variational auto-encoder: the pure functions its training needs, and sampling.

Batches are {"image": [B, H, W, C] in [0, 1] on the data's `levels` levels, ...}. The loss is
the negative ELBO per image, recon + beta * KL, where recon = -log p(x|z) with one z per
image (jresgen/models/vae.py: categorical likelihood) and KL is the closed form against
N(0, I) (`model.prior = "standard"`) or, with a learned mixture prior, the one-sample estimate
log q(z|x) - log p(z) at that same z; the batch mean is minimised. beta = 1 is the ELBO proper.

Randomness: the eps of sample k of a global batch comes from the state's key folded with the
step and with k (the global index, not the device's), so 1 and N devices draw the same z.
Evaluation folds the key with a tag and the test sample's index instead.

Figures (per image, test split): recon_nats, kl_nats and nll_nats = recon + KL (beta = 1):
an upper bound on -log p(x), also as bits_per_dim = nll_nats / (H * W * C * ln 2).
With `config.evaluation.classifier_workdir` set, evaluation adds FID/KID of
`evaluation.num_samples` prior samples (the decoder's expected images) and their class
histogram (jresgen/metrics/generative.py).
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.batching import padded_batches
from jresgen.data.image_io import image_grid
from jresgen.errors import UserError
from jresgen.metrics.generative import format_scores
from jresgen.models import vae as vae_models
from jresgen.tasks.state import TrainState, mean_over_devices, step_rng

EVAL_TAG = 0x7E57  # keeps evaluation's draws apart from any training step's
COMPONENT_TAG = 0xC0  # keeps the mixture prior's component draws apart from its eps


def build_model(config, axis_name=None):
    return vae_models.build(config.model, axis_name=axis_name)


def to_levels(image, levels: int):
    """[0, 1] images on `levels` levels -> integer levels [B, H, W, C]."""
    return jnp.round(image * (levels - 1)).astype(jnp.int32)


def sample_eps(rng, indices, latent_dim: int):
    """eps [len(indices), latent_dim]: row k from `rng` folded with indices[k]."""
    keys = jax.vmap(lambda i: jax.random.fold_in(rng, i))(indices)
    return jax.vmap(lambda k: jax.random.normal(k, (latent_dim,)))(keys)


def negative_elbo(model, variables, images, eps, beta: float, *, train=False, mutable=False):
    """Per-image terms (loss, recon, kl), each [B], and the model state update (if mutable).
    loss = recon + beta * kl."""
    levels = to_levels(images, model.levels)
    out = model.apply(variables, images, eps, train=train, mutable=mutable)
    (logits, _, _, kl), new_state = out if mutable is not False else (out, None)
    recon = vae_models.categorical_nll(logits, levels)
    return (recon + beta * kl, recon, kl), new_state


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    init_rng, state_rng = jax.random.split(rng)
    images = jnp.asarray(batch["image"][:1])
    eps = jnp.zeros((1, config.model.latent_dim))
    variables = build_model(config).init(init_rng, images, eps, train=False)
    params = variables.pop("params")
    tx, _ = make_optimizer()
    return TrainState.create(params=params, model_state=dict(variables), tx=tx, rng=state_rng)


def train_step(state: TrainState, batch, *, config, axis_name=None):
    model = build_model(config, axis_name)
    images = batch["image"]
    local = images.shape[0]
    first = 0 if axis_name is None else jax.lax.axis_index(axis_name) * local
    eps = sample_eps(step_rng(state), first + jnp.arange(local), config.model.latent_dim)
    mutable = list(state.model_state)

    def loss_fn(params):
        (loss, recon, kl), new_model_state = negative_elbo(
            model, {"params": params, **state.model_state}, images, eps, config.model.beta,
            train=True, mutable=mutable)
        return loss.mean(), (new_model_state, recon.mean(), kl.mean())

    (loss, (new_model_state, recon, kl)), grads = \
        jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grads, loss, recon, kl = mean_over_devices((grads, loss, recon, kl), axis_name)
    state = state.apply_gradients(grads, model_state=dict(new_model_state))
    return state, {"loss": loss, "recon_nats": recon, "kl_nats": kl,
                   "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(state.params)}


@functools.partial(jax.jit, static_argnames=("model",))
def _eval_batch(model, variables, images, indices, rng):
    eps = sample_eps(rng, indices, model.latent_dim)
    (_, recon, kl), _ = negative_elbo(model, variables, images, eps, 1.0)
    mean, _ = model.apply(variables, images, method=vae_models.VAE.encode)
    recon_mean = vae_models.categorical_mean(model.apply(variables, mean,
                                                         method=vae_models.VAE.decode))
    return recon, kl, recon_mean


@functools.partial(jax.jit, static_argnames=("model",))
def _decode_mean(model, variables, z):
    return vae_models.categorical_mean(model.apply(variables, z, method=vae_models.VAE.decode))


@functools.partial(jax.jit, static_argnames=("model",))
def _decode_prior(model, variables, eps, u):
    z = model.apply(variables, eps, u, method=vae_models.VAE.sample_prior)
    return vae_models.categorical_mean(model.apply(variables, z, method=vae_models.VAE.decode))


@functools.partial(jax.jit, static_argnames=("model",))
def _encode_mean(model, variables, images):
    return model.apply(variables, images, method=vae_models.VAE.encode)[0]


def _variables(state):
    return jax.device_put({"params": state.params, **state.model_state})


def evaluate(config, state: TrainState, test) -> tuple[dict, dict]:
    """Negative ELBO terms per test image, averaged over the whole split (padded batches,
    padding masked), and three uint8 grids: reconstructions, prior samples, interpolations."""
    model, variables = build_model(config), _variables(state)
    rng = jax.random.fold_in(step_rng(state), EVAL_TAG)
    images = np.asarray(test["image"])
    data = {"image": images, "index": np.arange(len(images))}
    recon, kl, recon_means = [], [], []
    for batch, mask in padded_batches(data, config.data.eval_batch_size):
        r, k, m = _eval_batch(model, variables, jnp.asarray(batch["image"]),
                              jnp.asarray(batch["index"]), rng)
        recon.append(np.asarray(r)[mask])
        kl.append(np.asarray(k)[mask])
        recon_means.append(np.asarray(m)[mask])
    recon, kl = np.concatenate(recon), np.concatenate(kl)
    nll = recon + kl
    dims = int(np.prod(images.shape[1:]))
    summary = {"nll_nats": float(nll.mean()),
               "bits_per_dim": float(nll.mean() / (dims * math.log(2))),
               "recon_nats": float(recon.mean()), "kl_nats": float(kl.mean()),
               "count": int(len(nll)), "dims": dims}
    s = config.sampling
    shown = s.grid_cols * s.grid_rows // 2  # half the grid originals, half reconstructions
    grids = {
        "reconstructions": _interleave_rows(images[:shown], np.concatenate(recon_means)[:shown],
                                            s.grid_cols, s.zoom),
        # the same z at every evaluation, so successive grids show the model changing
        "prior_samples": sample(config, state, s.grid_cols * s.grid_rows, config.seed),
        "interpolations": _interpolations(model, variables, images, s),
    }
    if test.get("scorer") is not None:
        scorer = test["scorer"]
        num = scorer.default_num_samples(config.evaluation.num_samples)
        samples, _ = sample_images(config, state, num, config.seed)
        summary.update(scorer.score(samples))
    return summary, grids


def _interleave_rows(originals, reconstructions, cols, zoom):
    """Rows of originals, each followed by the row of their reconstructions."""
    rows = []
    for start in range(0, len(originals), cols):
        rows += [originals[start:start + cols], reconstructions[start:start + cols]]
    return image_grid(np.concatenate(rows), cols, zoom)


def _interpolations(model, variables, images, s):
    """Row i: test image 2i, decodings of the line between the posterior means of images 2i
    and 2i+1 (`interp_steps` points, ends included), test image 2i+1."""
    a, b = images[0:2 * s.grid_rows:2], images[1:2 * s.grid_rows:2]
    za, zb = _encode_mean(model, variables, a), _encode_mean(model, variables, b)
    t = jnp.linspace(0.0, 1.0, s.interp_steps)[None, :, None]
    z = ((1 - t) * za[:, None] + t * zb[:, None]).reshape(-1, za.shape[-1])
    decoded = np.asarray(_decode_mean(model, variables, z)).reshape(
        len(a), s.interp_steps, *images.shape[1:])
    rows = np.concatenate([a[:, None], decoded, b[:, None]], axis=1)
    return image_grid(rows.reshape(-1, *images.shape[1:]), s.interp_steps + 2, s.zoom)


def sample_images(config, state: TrainState, num: int, seed: int, *, size=None, label=None):
    """(`num` images from the prior, float32 [N, S, S, C] in [0, 1], None): sample k decodes
    z_k ~ p(z) drawn from PRNGKey(seed) folded with k, shown as the decoder's expected image.
    The VAE is fixed-size and unconditional: `size` and `label` must be None."""
    if size is not None:
        raise UserError(f"a VAE has a fixed output size ({config.model.image_size}x"
                        f"{config.model.image_size}); --size is for texture models")
    if label is not None:
        raise UserError("this VAE is unconditional: it takes no --class")
    if num <= 0:
        raise UserError(f"the number of samples must be positive, got {num}")
    model, variables = build_model(config), _variables(state)
    rng, index = jax.random.PRNGKey(seed), jnp.arange(num)
    eps = sample_eps(rng, index, config.model.latent_dim)
    u = jax.vmap(lambda i: jax.random.uniform(
        jax.random.fold_in(jax.random.fold_in(rng, COMPONENT_TAG), i)))(index)
    images = []
    for start in range(0, num, config.data.eval_batch_size):
        stop = start + config.data.eval_batch_size
        images.append(np.asarray(_decode_prior(model, variables, eps[start:stop],
                                               u[start:stop])))
    return np.concatenate(images).astype(np.float32), None


def sample(config, state: TrainState, num: int, seed: int) -> np.ndarray:
    """sample_images as a uint8 grid [rows * S, cols * S, C] (cols = ceil(sqrt(num)))."""
    images, _ = sample_images(config, state, num, seed)
    return image_grid(images, math.ceil(math.sqrt(num)), config.sampling.zoom)


def format_report(summary: dict) -> str:
    report = (f"test negative ELBO {summary['nll_nats']:.2f} nats/image "
              f"({summary['bits_per_dim']:.4f} bits/dim over {summary['dims']} dims) = "
              f"recon {summary['recon_nats']:.2f} + KL {summary['kl_nats']:.2f}; "
              f"{summary['count']} test images")
    if "fid" in summary:
        report += "\n" + format_scores(summary)
    return report


def eval_headline(summary: dict) -> dict[str, float]:
    headline = {"test_nll_nats": summary["nll_nats"],
                "test_bits_per_dim": summary["bits_per_dim"], "test_kl_nats": summary["kl_nats"]}
    headline.update({k: summary[k] for k in ("fid", "kid") if k in summary})
    return headline
