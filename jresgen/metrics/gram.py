"""Second-order feature statistics for texture and style: Gram matrices, mean/std, and the losses
and distances built on them (Gatys et al. 2015; Huang & Belongie 2017 for mean/std).

All functions take feature maps `f: [B, H, W, C]` (one per layer of a feature extractor).
"""
import jax
import jax.numpy as jnp


def gram_matrix(f):
    """[B, H, W, C] -> [B, C, C]: sum over positions of f_i * f_j, divided by H*W, so a texture
    and a larger crop of it have the same Gram matrix. Accumulated in float32."""
    return gram_matrix_pair(f, f)


def shifted_gram_matrix(f, axis: int, shift: int):
    """[B, H, W, C] -> [B, C, C]: sum over positions x of f_i(x) * f_j(x + shift along `axis`
    (1: down, 2: right)), divided by the number of pairs; no wrap. Berger & Memisevic
    ("Incorporating long-range consistency in CNN-based texture generation", ICLR 2017): the
    plain Gram matrix says which features occur together at one place, this one which occur
    `shift` apart, so it sees the spacing and alignment of structures (mortar lines one brick
    apart) that the plain Gram matrix averages away."""
    n = f.shape[axis]
    a = jax.lax.slice_in_dim(f, 0, n - shift, axis=axis)
    b = jax.lax.slice_in_dim(f, shift, n, axis=axis)
    return gram_matrix_pair(a, b)


def gram_matrix_pair(a, b):
    """[B, H, W, C] twice -> [B, C, C]: sum over positions of a_i * b_j / positions."""
    bsz, h, w, c = a.shape
    fa = a.reshape(bsz, h * w, c).astype(jnp.float32)
    fb = b.reshape(bsz, h * w, b.shape[-1]).astype(jnp.float32)
    return jnp.einsum("bpi,bpj->bij", fa, fb) / (h * w)


def mean_std(f, eps: float = 1e-5):
    """[B, H, W, C] -> (mean [B, C], std [B, C]) over positions; eps keeps the std's gradient
    finite on constant channels."""
    f = f.astype(jnp.float32)
    mean = jnp.mean(f, axis=(1, 2))
    var = jnp.var(f, axis=(1, 2))
    return mean, jnp.sqrt(var + eps)


def gram_loss(features_list, target_grams_list, layer_weights=None):
    """sum over layers l of w_l * mean((G(f_l) - T_l)^2).

    Targets are [C, C] (one exemplar for the whole batch) or [B, C, C]; `layer_weights`
    defaults to 1 per layer. The mean runs over the batch and both channel axes.
    """
    if len(features_list) != len(target_grams_list):
        raise ValueError(f"{len(features_list)} feature maps but {len(target_grams_list)} "
                         f"target Gram matrices")
    weights = layer_weights if layer_weights is not None else [1.0] * len(features_list)
    return sum(gram_errors([gram_matrix(f) for f in features_list], target_grams_list, weights),
               jnp.float32(0.0))


def gram_errors(grams, target_grams_list, weights):
    """[w_l * mean((G_l - T_l)^2)] per term, from Gram matrices already computed (shifted ones,
    or a batch's mean): the terms `gram_loss` sums."""
    return [w * jnp.mean(jnp.square(g - t)) for g, t, w in zip(grams, target_grams_list, weights)]


def inverse_norm_weights(target_grams_list, eps: float = 1e-12):
    """Layer weights 1 / mean(T_l^2): with them every layer's term of `gram_loss` is a relative
    squared error, so layers whose activations are small (coarse scales, deep VGG layers)
    count as much as the others. Returned as a list of scalars (traceable)."""
    return [1.0 / (jnp.mean(jnp.square(t)) + eps) for t in target_grams_list]


def gram_distance(features_list, target_grams_list):
    """The figure we report: the mean over layers of ||G_l - T_l||^2 / ||T_l||^2 (0 = identical
    statistics; 1 = as far as an all-zero Gram matrix), averaged over the batch."""
    weights = inverse_norm_weights(target_grams_list)
    return gram_loss(features_list, target_grams_list, weights) / len(features_list)
