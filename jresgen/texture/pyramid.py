"""Gram statistics over an image pyramid: level p is the image average-pooled by 2^p, measured
with the feature layers its size allows, against the exemplar pooled the same way.

Why: a feature extractor's coarsest layer sees a fixed number of pixels (the random features:
80). Optimisation (jresgen/texture/synthesis.py) gets larger structures right by working coarse
to fine against a shrunk exemplar; a feed-forward texture net is trained in one go, so it gets
the same view as extra loss terms: the pooled output against the pooled exemplar, whose
coarsest layer then spans 80 * 2^p of the output's pixels.

    levels = pyramid_layers(extractor, patch, exemplar.shape[:2], 3)   # [(p, layers), ...]
    targets = pyramid_grams(levels, exemplar)                          # flat, one per term
    feats = pyramid_features(levels, extractor.params, images)         # same order
    loss = gram_loss(feats, targets, inverse_norm_weights(targets))

Level 0 is the plain loss (every layer of the extractor), so one level is today's loss.
"""
import jax
import jax.numpy as jnp
import numpy as np

from jresgen.errors import UserError
from jresgen.nn import downsample_avg
from jresgen.texture.synthesis import fitting_layers, exemplar_grams


def pool(images, level: int):
    """[B, H, W, C] average-pooled by 2^level (a remainder row/column is dropped)."""
    return images if level == 0 else downsample_avg(images, 2 ** level)


def pyramid_layers(extractor, size: int, exemplar_hw, levels: int):
    """[(level p, the extractor's layers that fit a `size`/2^p output and the exemplar pooled
    by 2^p)] for p = 0 .. levels-1; level 0 keeps every layer. A UserError when a level fits
    none (the patch is too small for that many levels)."""
    if levels < 1:
        raise UserError(f"loss.pyramid must be at least 1 (1 = no pyramid), got {levels}")
    out = [(0, extractor)]
    for p in range(1, levels):
        sides = [size // 2 ** p] + [d // 2 ** p for d in exemplar_hw]
        layers = fitting_layers(extractor, *sides)
        if layers is None:
            raise UserError(f"loss.pyramid {levels}: a {size}-pixel patch pooled by {2 ** p} "
                            f"is smaller than every feature layer "
                            f"({min(extractor.layer_min_sizes)} pixels); use larger patches "
                            f"or fewer levels")
        out.append((p, layers))
    return out


def pyramid_features(levels, params, images):
    """The feature maps of every (level, layer) term, flat, level by level."""
    return [f for p, layers in levels for f in layers.apply(params, pool(images, p))]


def pyramid_grams(levels, exemplar):
    """The exemplar's [C, C] Gram matrix per term (exemplar [H, W, 3] in [0, 1]), flat."""
    out = []
    for p, layers in levels:
        pooled = np.asarray(pool(jnp.asarray(exemplar, jnp.float32)[None], p))[0]
        out += exemplar_grams(layers, pooled)
    return out


def term_levels(levels):
    """The pyramid level of every term, in pyramid_features' order."""
    return [p for p, layers in levels for _ in layers.layer_names]


def term_strides(levels):
    """Output pixels per feature-map pixel of every term: 2^level times the layer's stride."""
    return [2 ** p * s for p, layers in levels for s in layers.layer_strides]


# Shifted terms only on maps at least this coarse: a stride-1 map of a 256-pixel patch costs
# a GFLOP per Gram matrix (as much as the rest of the loss), and the spacings worth matching
# (a brick is ~30 x 70 pixels) are many fine pixels anyway.
SHIFT_MIN_STRIDE = 4


def shift_terms(levels, size: int, distances):
    """[(term index, axis, shift in map pixels)]: for each distance d (output pixels) and each
    term whose stride S >= SHIFT_MIN_STRIDE divides d, its feature map against itself moved
    d / S map pixels down (axis 1) and right (axis 2), when that leaves at least half the map
    of a `size` patch (the Gram matrix is still a mean over many positions)."""
    out = []
    flat = [(p, layers, name) for p, layers in levels for name in layers.layer_names]
    for i, ((p, layers, name), stride) in enumerate(zip(flat, term_strides(levels))):
        side = _map_side(layers, name, size // 2 ** p)
        for d in distances:
            if stride < SHIFT_MIN_STRIDE or d % stride or not 1 <= d // stride <= side // 2:
                continue
            out += [(i, 1, d // stride), (i, 2, d // stride)]
    return out


def _map_side(layers, name, side: int) -> int:
    """The side of layer `name`'s map for an input of `side` pixels (traced by shape only)."""
    one = layers.subset([name])
    x = jax.ShapeDtypeStruct((1, side, side, 3), jnp.float32)
    return jax.eval_shape(lambda p, im: one.apply(p, im), one.params, x)[0].shape[1]


def shifted_grams(features, terms):
    """[B, C, C] per shift term, from the flat features of pyramid_features."""
    from jresgen.metrics.gram import shifted_gram_matrix
    return [shifted_gram_matrix(features[i], axis, k) for i, axis, k in terms]


def pyramid_shift_grams(levels, terms, exemplar):
    """The exemplar's [C, C] shifted Gram matrix per shift term: each level's pooled exemplar
    measured whole (the coarse maps these terms use are small)."""
    feats = []
    x = jnp.asarray(exemplar, jnp.float32)[None]
    for p, layers in levels:
        feats += jax.jit(layers.apply)(layers.params, pool(x, p))
    return [g[0] for g in shifted_grams(feats, terms)]
