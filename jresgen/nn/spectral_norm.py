"""Spectral normalisation (Miyato et al. 2018) as a wrapper around any linen layer.

Every kernel of the wrapped layer (a matrix, or a conv kernel [kh, kw, in, out] read as the
matrix [kh * kw * in, out]) is divided by an estimate of its largest singular value. The
estimate comes from power iteration: the vector `u` is carried between steps in the variable
collection "spectral_norm" and advanced one iteration per call with `update=True` (training), as
in the paper, so after a few hundred steps it tracks the top singular vector. With
`update=False` (evaluation) the stored vector is not changed. Biases are left alone.

flax.linen.SpectralNorm does the arithmetic; this module fixes the conventions jresgen relies
on: one collection name for every network, and `update` bound when the layer is built, so a
block can hand a spectrally normalised conv around like a plain one.
"""
import flax.linen as nn

COLLECTION = "spectral_norm"


def spectral_normalized(layer: nn.Module, *, update: bool, n_steps: int = 1):
    """`f(x)` applying `layer` with spectrally normalised kernels; `update` advances the stored
    power-iteration vector (pass the model's `train`)."""
    wrapper = nn.SpectralNorm(layer, n_steps=n_steps, collection_name=COLLECTION,
                              name=f"{layer.name}_sn" if layer.name else None)
    return lambda *args, **kwargs: wrapper(*args, update_stats=update, **kwargs)


def largest_singular_value(kernel) -> float:
    """The exact spectral norm of a dense or conv kernel read as SN reads it (tests, reports)."""
    import numpy as np

    matrix = np.asarray(kernel, np.float64).reshape(-1, kernel.shape[-1])
    return float(np.linalg.svd(matrix, compute_uv=False)[0])
