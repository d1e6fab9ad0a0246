"""Optimisation-based texture synthesis (Gatys, Ecker & Bethge, "Texture synthesis using
convolutional neural networks", 2015): start from noise and move the pixels until the Gram
matrices of their features match the exemplar's.

Coarse to fine: level 0 synthesises the texture at 1/2^(levels-1) of the output size against
the exemplar shrunk by the same factor, so the coarsest feature scales see whole bricks; each
next level upsamples the result 2x and refines it against a larger exemplar. Only the feature
layers a level's images are large enough for take part. A grayscale exemplar is synthesised
as one channel, so the output is exactly grey.

    image, report = synthesize(exemplar, (256, 256), steps=600, seed=0)
"""
import functools
import math
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.resize import bicubic_resize
from jresgen.errors import UserError
from jresgen.metrics.gram import gram_distance, gram_loss, gram_matrix, inverse_norm_weights
from jresgen.models.features import build_feature_extractor, default_features_config
from jresgen.texture.options import SynthesisOptions

MAX_SIDE = 4096  # per side; features of a larger image do not fit a CPU's memory
MAX_PIXELS = 2048 * 2048
MIN_SIDE = 16
EXEMPLAR_TILE = 512  # exemplar Gram matrices are averaged over tiles of at most this side


def check_size(size) -> tuple[int, int]:
    """(height, width) a synthesis can produce, else a one-line UserError."""
    h, w = size
    if min(h, w) < MIN_SIDE or max(h, w) > MAX_SIDE or h * w > MAX_PIXELS:
        raise UserError(f"texture size {h}x{w} is not possible: each side must be "
                        f"{MIN_SIDE}..{MAX_SIDE} pixels and the area at most "
                        f"{MAX_PIXELS // 1024 // 1024}M pixels (e.g. 2048x2048)")
    return h, w


def fitting_layers(extractor, *sides):
    names = [n for n, m in zip(extractor.layer_names, extractor.layer_min_sizes)
             if m <= min(sides)]
    return extractor.subset(names) if names else None


def exemplar_grams(extractor, exemplar):
    """Gram matrices [C, C] per layer of an exemplar [H, W, 3]: the position-weighted mean over
    tiles of at most EXEMPLAR_TILE pixels a side, so a large photo stays within memory."""
    h, w = exemplar.shape[:2]
    rows = math.ceil(h / EXEMPLAR_TILE)
    cols = math.ceil(w / EXEMPLAR_TILE)
    apply = jax.jit(lambda p, x: [gram_matrix(f)[0] for f in extractor.apply(p, x)])
    total, weight = None, 0.0
    for i in range(rows):
        for j in range(cols):
            tile = exemplar[i * h // rows:(i + 1) * h // rows, j * w // cols:(j + 1) * w // cols]
            grams = apply(extractor.params, jnp.asarray(tile[None]))
            n = tile.shape[0] * tile.shape[1]
            total = [n * g for g in grams] if total is None else \
                [t + n * g for t, g in zip(total, grams)]
            weight += n
    return [t / weight for t in total]


def _level_sizes(size, levels):
    """[(h, w) per level, coarsest first]; fewer levels when the coarse ones would be tiny."""
    h, w = size
    sizes = [(max(1, round(h / 2 ** k)), max(1, round(w / 2 ** k))) for k in range(levels)]
    sizes = [s for s in sizes if min(s) >= MIN_SIDE] or [size]
    return sizes[::-1]


def _make_runner(extractor, grams, weights, channels, options):
    """(tx, jitted `run(x, opt_state, params, n) -> (x, opt_state, loss)` doing `n` steps).

    "lbfgs": optax's L-BFGS with its zoom line search (Gatys et al. used L-BFGS); the pixels
    are clipped to [0, 1] only at the end, as there. "adam": projected Adam, clipped each step.
    """
    def loss_fn(x, params):
        rgb = jnp.broadcast_to(x, x.shape[:3] + (3,)) if channels == 1 else x
        return gram_loss(extractor.apply(params, rgb, periodic=True), grams, weights)

    if options.optimizer == "lbfgs":
        tx = optax.lbfgs()

        @jax.jit
        def run(x, opt_state, params, n):
            fn = functools.partial(loss_fn, params=params)
            value_and_grad = optax.value_and_grad_from_state(fn)

            def body(_, carry):
                x, opt_state, _ = carry
                loss, grad = value_and_grad(x, state=opt_state)
                updates, opt_state = tx.update(grad, opt_state, x, value=loss, grad=grad,
                                               value_fn=fn)
                return optax.apply_updates(x, updates), opt_state, loss
            return jax.lax.fori_loop(0, n, body, (x, opt_state, jnp.float32(0.0)))
        return tx, run
    if options.optimizer != "adam":
        raise UserError(f"unknown optimizer {options.optimizer!r}; choose lbfgs or adam")
    tx = optax.adam(options.learning_rate)

    @jax.jit
    def run(x, opt_state, params, n):
        def body(_, carry):
            x, opt_state, _ = carry
            loss, grad = jax.value_and_grad(loss_fn)(x, params)
            updates, opt_state = tx.update(grad, opt_state, x)
            return jnp.clip(optax.apply_updates(x, updates), 0.0, 1.0), opt_state, loss
        return jax.lax.fori_loop(0, n, body, (x, opt_state, jnp.float32(0.0)))

    return tx, run


def synthesize(exemplar, size, *, seed: int = 0, options: SynthesisOptions | None = None,
               grayscale: bool = False, progress=None):
    """(texture float32 [H, W, 1 or 3] in [0, 1], report dict) for an exemplar [h, w, 3] in [0, 1].

    `progress` is an optional jresgen.train.progress.Progress over `options.steps` steps.
    The report holds the final Gram distance to the exemplar, and the seconds taken.
    """
    options = options or SynthesisOptions()
    h, w = check_size(size)
    if options.steps < 1 or options.levels < 1:
        raise UserError(f"steps and levels must be positive, got {options.steps}, "
                        f"{options.levels}")
    extractor = build_feature_extractor(options.features or default_features_config())
    channels = 1 if grayscale else 3
    sizes = _level_sizes((h, w), options.levels)
    # Steps split evenly over levels; the coarse ones are cheap, so every level gets its share.
    per_level = [options.steps // len(sizes) + (k < options.steps % len(sizes))
                 for k in range(len(sizes))]
    t0 = time.perf_counter()
    rng = np.random.default_rng(seed)
    ex_mean = exemplar.reshape(-1, 3).mean(0)
    x = None
    done = 0
    for (lh, lw), steps in zip(sizes, per_level):
        factor = h / lh
        eh, ew = (max(1, round(d / factor)) for d in exemplar.shape[:2])
        ex = np.clip(bicubic_resize(exemplar, eh, ew), 0.0, 1.0) if (eh, ew) != exemplar.shape[:2] \
            else exemplar
        level_extractor = fitting_layers(extractor, lh, lw, eh, ew)
        if level_extractor is None:
            raise UserError(f"exemplar {exemplar.shape[1]}x{exemplar.shape[0]} is too small for "
                            f"the feature layers: each side needs at least "
                            f"{min(extractor.layer_min_sizes)} pixels")
        grams = exemplar_grams(level_extractor, ex)
        weights = inverse_norm_weights(grams)
        if x is None:  # the start: uniform noise around the exemplar's mean colour
            noise = rng.uniform(-0.5, 0.5, size=(1, lh, lw, channels)).astype(np.float32)
            mean = ex_mean[:channels] if channels == 3 else ex_mean[:1]
            x = jnp.asarray(np.clip(mean + noise, 0.0, 1.0))
        else:
            x = jnp.clip(jax.image.resize(x, (1, lh, lw, channels), method="linear"), 0.0, 1.0)
        tx, run = _make_runner(level_extractor, grams, weights, channels, options)
        opt_state = tx.init(x)
        left = steps
        while left > 0:
            n = min(options.chunk, left)
            x, opt_state, loss = run(x, opt_state, level_extractor.params, n)
            left -= n
            done += n
            if progress is not None:
                progress.update(done, {"loss": float(loss)})
    seconds = time.perf_counter() - t0
    texture = np.clip(np.asarray(x[0]), 0.0, 1.0)
    return texture, {"seconds": seconds, "levels": len(sizes)}


def distances(exemplar, textures, features=None, seed: int = 0) -> dict:
    """Gram distances (jresgen.metrics.gram.gram_distance over the feature layers the sizes
    allow) to the exemplar [H, W, 3], each a mean over `textures` ([N, h, w, C] or one
    [h, w, C]): of the textures; of uniform noise of their size around the exemplar's mean
    (the start); and between two disjoint halves of the exemplar (the floor: what two samples
    of the same texture differ by)."""
    textures = np.asarray(textures, np.float32)
    textures = textures[None] if textures.ndim == 3 else textures
    channels = textures.shape[-1]  # 1: grey textures, compared with grey noise
    textures = np.broadcast_to(textures, textures.shape[:3] + (3,))
    extractor = build_feature_extractor(features or default_features_config())
    h, w = exemplar.shape[:2]
    halves = (exemplar[:, :w // 2], exemplar[:, w // 2:]) if w >= h else \
        (exemplar[:h // 2], exemplar[h // 2:])
    layers = fitting_layers(extractor, *textures.shape[1:3], *halves[0].shape[:2],
                             *halves[1].shape[:2])
    if layers is None:
        raise UserError("exemplar or texture too small to measure Gram distances")
    target = exemplar_grams(layers, exemplar)
    measure = jax.jit(lambda p, x, grams: gram_distance(layers.apply(p, x), grams))

    def distance(images, grams):
        return float(np.mean([measure(layers.params, jnp.asarray(im[None]), grams)
                              for im in images]))

    rng = np.random.default_rng(seed)
    mean = exemplar.reshape(-1, 3).mean(0)
    noise = np.clip(mean + rng.uniform(-0.5, 0.5, textures.shape[:3] + (channels,)), 0, 1)
    return {"gram_distance": distance(textures, target),
            "gram_distance_floor": distance(halves[0][None], exemplar_grams(layers, halves[1])),
            "gram_distance_noise": distance(noise.astype(np.float32), target),
            "layers": list(layers.layer_names)}
