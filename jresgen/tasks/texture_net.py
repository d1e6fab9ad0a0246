"""Feed-forward texture networks (Ulyanov et al. 2016): the pure functions their training needs,
and sampling at any size.

The net (jresgen/models/texture.py) maps multi-scale noise to a texture; it is trained so the
Gram matrices of its outputs' features (jresgen/models/features.py, `config.features`) match
the exemplar's, the loss of jresgen/texture/synthesis.py but minimised over the net's weights
for fresh noise each step instead of over one image's pixels. The exemplar's Gram matrices
and the fixed feature parameters are computed once, at init, and live in the state's
`model_state` (checkpointed with it, so a work directory samples without the exemplar).

Batches are {"index": int32 [B]}: sample k's noise comes from the state's key folded with
its global index (jresgen/data/texture_exemplar.py). Every layer weighs 1 / mean(T_l^2), so
the loss is the relative Gram error summed over layers; `gram_distance` = loss / layers.

`config.loss.pyramid` (default 1: none) adds the Gram terms of the outputs average-pooled by
2, 4, ... against the exemplar pooled the same way (jresgen/texture/pyramid.py), so the
coarsest features span whole bricks; the terms then run over (level, layer) pairs.
`config.loss.batch_gram` (default False) compares the Gram matrix of the whole batch (the mean
of its samples' Grams: every position of every sample) with the exemplar's, instead of each
sample's: a real 128x128 crop of the brick wall is 0.044 from the whole wall's Grams (mean over
layers), so asking every training patch to carry the whole wall's statistics favours textures
more uniform than bricks (streaks). Under pmap it is each device's share of the batch.
`config.loss.level_weights` and `fine_ramp_steps` weigh the pyramid's levels (the fine level
ramped in, so the coarse levels lay out the structure first); `config.loss.shift_grams` adds
shifted Gram matrices (Berger & Memisevic 2017), which see how far apart features recur;
`config.loss.random_shift` rolls each (tiling) output by a random offset before its features,
so the net cannot align its structure to the feature pyramid's pooling grid. All default off.
The `gram_distance` metric is the plain terms' mean, whatever the weights.
`config.data.exemplar_scale` (default 1) resizes the exemplar before all of this (and before
the evaluation's distances): the features' and the generator's reach is fixed in pixels, so a
smaller exemplar puts more of its structure (whole bricks) within it; textures come out at
that scale.
"""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.image_io import image_grid
from jresgen.errors import UserError
from jresgen.metrics.gram import gram_errors, gram_matrix, inverse_norm_weights
from jresgen.models import texture as texture_models
from jresgen.models.features import build_feature_extractor
from jresgen.tasks.state import TrainState, mean_over_devices

EVAL_TAG = 0x7E57  # keeps evaluation's noise apart from any training sample's
SHIFT_TAG = 0x5417  # keeps the random shifts' keys apart from the noise's


def _exemplar(config):
    """(the exemplar [H, W, 3] the loss targets, grayscale): `data.exemplar` resized by
    `data.exemplar_scale` (default 1), as the evaluation data (jresgen/data/texture_exemplar.py)."""
    from jresgen.data.texture_exemplar import exemplar_scale
    return _scaled_exemplar(config.data.exemplar, exemplar_scale(config))


@functools.lru_cache(maxsize=8)
def _scaled_exemplar(name: str, scale: float):
    from jresgen.data.exemplars import load_exemplar
    return load_exemplar(name, scale)


def output_channels(config) -> int:
    """1 for a grayscale exemplar (the texture is then exactly grey), else 3."""
    return 1 if _exemplar(config)[1] else 3


def build_model(config, axis_name=None):
    return texture_models.build(config.model, output_channels(config))


def _extractor(config):
    return build_feature_extractor(config.features)


def _as_rgb(images):
    return jnp.broadcast_to(images, images.shape[:3] + (3,))


def draw_noise(model, rng, indices, height, width):
    """Noise inputs for samples `indices` [B]: sample k's from `rng` folded with indices[k]."""
    def one(i):
        return [z[0] for z in texture_models.sample_noise(model, jax.random.fold_in(rng, i),
                                                          1, height, width)]
    return jax.vmap(one)(indices)


def _loss_option(config, key, default):
    return (config.get("loss") or {}).get(key, default)


def pyramid_levels(config) -> int:
    """`config.loss.pyramid`: Gram terms at this many output scales (1, the default: none)."""
    return int(_loss_option(config, "pyramid", 1))


def batch_gram(config) -> bool:
    """`config.loss.batch_gram`: one Gram matrix per term for the whole batch (default False)."""
    return bool(_loss_option(config, "batch_gram", False))


def level_weights(config) -> tuple[float, ...]:
    """`config.loss.level_weights`: a weight per pyramid level multiplying that level's terms
    (empty, the default: 1 each), so the coarse levels, whose features span whole bricks, can
    count for more than the fine grain."""
    weights = tuple(float(w) for w in _loss_option(config, "level_weights", ()))
    if weights and len(weights) != pyramid_levels(config):
        raise UserError(f"loss.level_weights has {len(weights)} weights for "
                        f"loss.pyramid={pyramid_levels(config)} levels")
    return weights or (1.0,) * pyramid_levels(config)


def fine_ramp(config, step):
    """The factor on level 0's terms at `step`: 0 -> 1 linearly over `config.loss.
    fine_ramp_steps` steps (0, the default: always 1). The fine terms are most of the loss and
    are met early by fine grain; ramped in, they let the coarse levels lay out the bricks
    first, and then refine them."""
    ramp = int(_loss_option(config, "fine_ramp_steps", 0))
    if ramp <= 0 or step is None:
        return jnp.float32(1.0)
    return jnp.clip(jnp.asarray(step, jnp.float32) / ramp, 0.0, 1.0)


def shift_distances(config) -> tuple[int, ...]:
    """`config.loss.shift_grams`: distances in output pixels at which shifted Gram matrices are
    matched too (jresgen/texture/pyramid.py: shift_terms); empty, the default: none."""
    return tuple(int(d) for d in _loss_option(config, "shift_grams", ()))


def shift_terms(config):
    from jresgen.texture import pyramid
    return pyramid.shift_terms(loss_terms(config), config.data.patch_size,
                               shift_distances(config))


def term_weights(config, step=None):
    """The weight of every loss term (the plain terms, then the shifted ones) at `step` (None:
    the end of any ramp), before the 1 / mean(T^2) normalisation."""
    from jresgen.texture.pyramid import term_levels
    per_level = level_weights(config)
    ramp = fine_ramp(config, step)
    levels = term_levels(loss_terms(config))
    levels = levels + [levels[i] for i, _, _ in shift_terms(config)]
    return [per_level[p] * (ramp if p == 0 else 1.0) for p in levels]


def loss_terms(config):
    """[(pyramid level, feature layers)] the loss sums over (jresgen/texture/pyramid.py)."""
    from jresgen.texture.pyramid import pyramid_layers
    return pyramid_layers(_extractor(config), config.data.patch_size,
                          _exemplar(config)[0].shape[:2], pyramid_levels(config))


def feature_statistics(config):
    """(the feature extractor, the exemplar's Gram matrix per loss term): the fixed target."""
    from jresgen.texture.pyramid import pyramid_grams
    # Computed now even under the loop's jitted init (or eval_shape): as a traced computation
    # XLA would constant-fold the exemplar's features, which takes minutes.
    with jax.ensure_compile_time_eval():
        return _extractor(config), pyramid_grams(loss_terms(config),
                                                 _exemplar(config)[0])


def shift_statistics(config):
    """The exemplar's shifted Gram matrix per shift term (empty without loss.shift_grams)."""
    from jresgen.texture.pyramid import pyramid_shift_grams
    terms = shift_terms(config)
    if not terms:
        return []
    with jax.ensure_compile_time_eval():
        return pyramid_shift_grams(loss_terms(config), terms, _exemplar(config)[0])


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    init_rng, state_rng = jax.random.split(rng)
    model = build_model(config)
    size = config.data.patch_size
    if size % 2 ** (model.scales - 1):
        raise UserError(f"data.patch_size {size} must be a multiple of 2^(model.scales-1) = "
                        f"{2 ** (model.scales - 1)}")
    variables = model.init(init_rng, texture_models.sample_noise(model, init_rng, 1, size, size))
    if _extractor(config).min_size > size:
        raise UserError(f"data.patch_size {size} is smaller than the feature layers need "
                        f"({_extractor(config).min_size}); use fewer features.layers or larger "
                        f"patches")
    extractor, targets = feature_statistics(config)
    level_weights(config)  # a wrong count fails here, not inside the first step's trace
    random_shift(config)  # likewise a padding that does not tile
    model_state = {"feature_params": extractor.params, "target_grams": targets}
    if shift_distances(config):  # only then: states (and checkpoints) without it stay as they were
        model_state["shift_grams"] = shift_statistics(config)
    tx, _ = make_optimizer()
    return TrainState.create(params=variables["params"], tx=tx, rng=state_rng,
                             model_state=model_state)


def texture_loss(config, params, model_state, noises, step=None):
    """(the weighted relative Gram loss summed over terms, images [B, H, W, C]); `step` sets
    the fine ramp (None: full weight)."""
    loss, (images, _) = _loss_and_distance(config, params, model_state, noises, step)
    return loss, images


def random_shift(config) -> bool:
    """`config.loss.random_shift` (default False): each output is rolled by a random offset
    before its features are taken. Only for `model.padding='CIRCULAR'`, whose outputs tile
    (the roll moves the same texture); it keeps the net from aligning its structure to the
    features' fixed pooling grid (an 'extremes' feature pyramid otherwise gets bricks that
    sit on a 16-pixel grid)."""
    on = bool(_loss_option(config, "random_shift", False))
    if on and config.model.get("padding", "SAME") != "CIRCULAR":
        raise UserError("loss.random_shift needs model.padding='CIRCULAR' (only then does "
                        "an output tile, so that rolling it moves the same texture)")
    return on


def draw_shifts(rng, indices, height, width):
    """[B, 2] offsets (rows, columns) for samples `indices`, from `rng` folded with each."""
    def one(i):
        key = jax.random.fold_in(jax.random.fold_in(rng, SHIFT_TAG), i)
        return jax.random.randint(key, (2,), 0, jnp.array([height, width]))
    return jax.vmap(one)(indices)


def _roll(images, shifts):
    return jax.vmap(lambda x, s: jnp.roll(x, (s[0], s[1]), axis=(0, 1)))(images, shifts)


def _loss_and_distance(config, params, model_state, noises, step, shifts=None):
    """(weighted loss, (images, gram_distance: the plain terms' mean relative error));
    `shifts` [B, 2]: roll each output by these before its features (loss.random_shift)."""
    from jresgen.texture.pyramid import pyramid_features, shifted_grams
    images = build_model(config).apply({"params": params}, noises)
    if shifts is not None:
        images = _roll(images, shifts)
    targets = list(model_state["target_grams"])
    features = pyramid_features(loss_terms(config), model_state["feature_params"],
                                _as_rgb(images))
    grams = [gram_matrix(f) for f in features]
    if shift_distances(config):
        grams += shifted_grams(features, shift_terms(config))
        targets += list(model_state["shift_grams"])
    if batch_gram(config):  # the batch's mean Gram: every position of every sample
        grams = [g.mean(0, keepdims=True) for g in grams]
    errors = gram_errors(grams, targets, inverse_norm_weights(targets))
    weights = term_weights(config, step)
    loss = sum(w * e for w, e in zip(weights, errors))
    plain = len(model_state["target_grams"])
    return loss, (images, sum(errors[:plain]) / plain)


def train_step(state: TrainState, batch, *, config, axis_name=None):
    model = build_model(config)
    size = config.data.patch_size
    noises = draw_noise(model, state.rng, batch["index"], size, size)
    shifts = draw_shifts(state.rng, batch["index"], size, size) if random_shift(config) else None

    def loss_fn(params):
        return _loss_and_distance(config, params, state.model_state, noises, state.step,
                                  shifts)

    (loss, (_, distance)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grads, loss, distance = mean_over_devices((grads, loss, distance), axis_name)
    state = state.apply_gradients(grads)
    return state, {"loss": loss, "gram_distance": distance,
                   "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(state.params)}


@functools.partial(jax.jit, static_argnames=("model", "height", "width"))
def _generate(model, params, rng, indices, height, width):
    ph, pw = texture_models.padded_size(model, height, width)
    noises = draw_noise(model, rng, indices, ph, pw)
    return model.apply({"params": params}, noises)[:, :height, :width]


def sample_images(config, state: TrainState, num: int, seed: int, *, size=None, label=None):
    """(`num` textures float32 [N, H, W, C] in [0, 1], None) of `size` (H, W), default
    `data.eval_size` square; texture k's noise from PRNGKey(seed) folded with k. C is 1 for a
    grayscale exemplar. One forward pass per `data.eval_batch_size` textures."""
    if label is not None:
        raise UserError("a texture network is unconditional; it takes no --class")
    if num <= 0:
        raise UserError(f"the number of samples must be positive, got {num}")
    height, width = size if size is not None else (config.data.eval_size,) * 2
    if min(height, width) < 1:
        raise UserError(f"texture size {height}x{width} is not possible")
    model, rng = build_model(config), jax.random.PRNGKey(seed)
    params = jax.device_put(state.params)
    out = []
    for start in range(0, num, config.data.eval_batch_size):
        indices = jnp.arange(start, min(num, start + config.data.eval_batch_size))
        out.append(np.asarray(_generate(model, params, rng, indices, height, width)))
    return np.concatenate(out).astype(np.float32), None


def evaluate(config, state: TrainState, eval_data) -> tuple[dict, dict]:
    """Gram distance of `evaluation.num_samples` textures of data.eval_size to the exemplar
    (mean), next to the floor (two halves of the exemplar) and the start (noise), all with the
    config's features (jresgen/texture/synthesis.py: distances); a grid of samples."""
    from jresgen.texture.synthesis import distances

    e = config.evaluation
    seed = jax.random.randint(jax.random.fold_in(state.rng, EVAL_TAG), (), 0, 2 ** 30)
    textures, _ = sample_images(config, state, e.num_samples, int(seed))
    summary = distances(eval_data["exemplar"], textures, config.features)
    summary.update(num_samples=int(e.num_samples), size=list(textures.shape[1:3]))
    cols = math.ceil(math.sqrt(len(textures)))
    return summary, {"textures": image_grid(textures, cols)}


def format_report(summary: dict) -> str:
    h, w = summary["size"]
    return (f"Gram distance to the exemplar {summary['gram_distance']:.4f} (mean of "
            f"{summary['num_samples']} textures of {h}x{w}); floor, two halves of the "
            f"exemplar: {summary['gram_distance_floor']:.4f}; start, noise: "
            f"{summary['gram_distance_noise']:.4f}")


def eval_headline(summary: dict) -> dict[str, float]:
    return {"gram_distance": summary["gram_distance"],
            "gram_distance_floor": summary["gram_distance_floor"]}
