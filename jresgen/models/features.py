"""Fixed feature extractors for texture and style statistics (Gram matrices, mean/std).

    extractor = build_feature_extractor(config.features)
    feats = extractor(images)              # images float32 [B, H, W, 3] in [0, 1]
    feats = extractor.apply(extractor.params, images)   # same, parameters passed explicitly

`config.features` keys: `kind` ("random" | "vgg19"), `seed` (int), `weights` (path of the
.npz, vgg19 only), `layers` (tuple of layer names or indices into `extractor.layer_names`;
empty = the kind's default), `pooling` (random only, optional: "average" | "extremes").
The result is one feature map [B, h, w, c] per layer; it is jit-able and differentiable
w.r.t. the images. Inside a jitted function prefer
`extractor.apply(params, x)` with `params` an argument: closed-over arrays become constants in
the compiled program (VGG's 80 MB would be baked into it).

"random" (default; no weights needed). Pretrained VGG cannot be downloaded here, and a single
layer of many random filters at several scales synthesises natural textures nearly as well
(Ustyuzhaninov, Brendel, Gatys & Bethge, "What does it take to generate natural textures?",
ICLR 2017). Here the scales are an image pyramid: level s is the image average-pooled by 2^s,
then one VALID convolution with `filters` random k x k filters and a ReLU. A 5x5 filter at
level 4 spans 80 input pixels, so large structures (bricks) are seen as well as fine grain,
at a fraction of the cost of 55x55 kernels. Filters are He-normal, drawn from
`jax.random.PRNGKey(seed)`: the same seed gives the same features on every machine.
Layer names: "scale0" ... "scale{N-1}". An image must be at least kernel * 2^s pixels on
each side for the deepest level s used.

`pooling` (random only): "average" (default) builds the pyramid from 2x2 means. "extremes"
builds two, of 2x2 maxima and of 2x2 minima, and filters both (6 channels). Averaging washes
thin structures out: a brick wall's 2-pixel mortar lines are at a quarter of their contrast
at level 2 and nearly gone at level 4, so the coarse levels, the only ones whose reach spans
a brick, barely see the joints that outline it. The extremes keep a bright or dark line at
full contrast at every level. With it, the loss tells a brick wall from the streaks a net
trained on the average pyramid draws (`python -m benchmarks.texture_losses`: 128-pixel crops
of those streaks are 0.009 from the half-scale exemplar's Grams and real crops 0.023 with
"average", but 0.118 against 0.022 with "extremes").

"vgg19": the 16 convolutions of VGG-19 (Simonyan & Zisserman) from a user-supplied `.npz`:

    conv1_1/kernel  float [3, 3, 3, 64]    (HWIO)     conv1_1/bias  float [64]
    conv1_2/kernel  [3, 3, 64, 64]  ...  conv5_4/kernel [3, 3, 512, 512], conv5_4/bias [512]

for conv{b}_{i}, blocks b = 1..5 with 2, 2, 4, 4, 4 convolutions. The input is normalised with
the ImageNet mean (0.485, 0.456, 0.406) and std (0.229, 0.224, 0.225) as torchvision's weights
expect. Layer names: conv{b}_{i}, relu{b}_{i}, pool{b} (2x2 max pooling). Default layers are
Gatys' style layers relu1_1, relu2_1, relu3_1, relu4_1, relu5_1. Converting torchvision's
weights (run where they can be downloaded):

    import numpy as np, torchvision
    convs = [m for m in torchvision.models.vgg19(weights="IMAGENET1K_V1").features
             if m.__class__.__name__ == "Conv2d"]
    names = [f"conv{b}_{i}" for b, n in zip(range(1, 6), (2, 2, 4, 4, 4))
             for i in range(1, n + 1)]
    np.savez("vgg19.npz", **{k: v for name, m in zip(names, convs) for k, v in (
        (f"{name}/kernel", m.weight.detach().numpy().transpose(2, 3, 1, 0)),
        (f"{name}/bias", m.bias.detach().numpy()))})

Channel widths are read from the file (each conv's input must match the previous output), so a
narrower net with the same names also loads.
"""
import dataclasses
import functools
from pathlib import Path
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np

from jresgen.errors import UserError
from jresgen.nn.pooling import max_pool_2x2

KINDS = ("random", "vgg19")

# Random multi-scale features (see the module docstring for why these shapes).
RANDOM_SCALES = 5
RANDOM_FILTERS = 128
RANDOM_KERNEL = 5

VGG19_BLOCKS = (2, 2, 4, 4, 4)
VGG19_WIDTHS = (64, 128, 256, 512, 512)
VGG19_CONVS = tuple(f"conv{b}_{i}" for b, n in enumerate(VGG19_BLOCKS, start=1)
                    for i in range(1, n + 1))
VGG19_DEFAULT_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def _conv(x, kernel, bias=None, padding="SAME"):
    """padding "SAME" (zeros), "VALID", or "WRAP" (periodic: the image is a torus)."""
    if padding == "WRAP":
        kh, kw = kernel.shape[:2]
        x = jnp.pad(x, ((0, 0), (kh // 2, (kh - 1) // 2), (kw // 2, (kw - 1) // 2), (0, 0)),
                    mode="wrap")
        padding = "VALID"
    y = jax.lax.conv_general_dilated(x, kernel.astype(x.dtype), (1, 1), padding,
                                     dimension_numbers=("NHWC", "HWIO", "NHWC"))
    return y if bias is None else y + bias.astype(x.dtype)


def _as_rgb(images):
    """[B, H, W, 1|3] -> [B, H, W, 3] float32 (grayscale is three equal channels)."""
    images = jnp.asarray(images, jnp.float32)
    if images.ndim != 4 or images.shape[-1] not in (1, 3):
        raise ValueError(f"expected images [B, H, W, 3] (or 1 channel), got {images.shape}")
    return jnp.broadcast_to(images, images.shape[:3] + (3,))


@dataclasses.dataclass(frozen=True, eq=False)
class FeatureExtractor:
    """Fixed parameters `params` (a pytree) and a pure `apply(params, images) -> [features]`."""
    kind: str
    layer_names: tuple[str, ...]  # the layers returned, in order
    params: Any
    _apply_layers: Callable  # (params, images, layer names, periodic) -> [features]
    layer_min_sizes: tuple[int, ...]  # smallest image side each layer accepts

    @property
    def min_size(self) -> int:
        return max(self.layer_min_sizes)

    @property
    def layer_strides(self) -> tuple[int, ...]:
        """Input pixels per feature-map pixel of each layer: 2^s for the random "scale{s}" (its
        min size is the kernel times that), 2^pools for VGG (its min size is that)."""
        per = RANDOM_KERNEL if self.kind == "random" else 1
        return tuple(m // per for m in self.layer_min_sizes)

    def subset(self, names) -> "FeatureExtractor":
        """The same extractor returning only the layers `names` (e.g. those a small image
        fits: coarse-to-fine synthesis starts with fewer scales)."""
        sizes = dict(zip(self.layer_names, self.layer_min_sizes))
        return dataclasses.replace(self, layer_names=tuple(names),
                                   layer_min_sizes=tuple(sizes[n] for n in names))

    def apply(self, params, images, *, periodic: bool = False):
        """`periodic`: convolutions wrap around the borders (the image is a torus), so every
        pixel is seen by as many filter positions as any other. Synthesis uses it for the
        image it optimises: with borders, the edge pixels (seen by few positions) carry
        extreme values cheaply and the statistics are met there instead of in the interior.
        Exemplars, which do not wrap, are measured without it (the kind's own padding)."""
        images = _as_rgb(images)
        if min(images.shape[1:3]) < self.min_size:
            raise UserError(f"image {images.shape[1]}x{images.shape[2]} is too small for the "
                            f"{self.kind} feature layers {', '.join(self.layer_names)}: "
                            f"each side needs at least {self.min_size} pixels")
        return self._apply_layers(params, images, self.layer_names, periodic)

    def __call__(self, images):
        return self.apply(self.params, images)


def _select_layers(layers, available, default, kind):
    """Names from `layers` (names or indices into `available`), default when empty."""
    if not layers:
        return tuple(default)
    chosen = []
    for layer in layers:
        if isinstance(layer, (int, np.integer)) and not isinstance(layer, bool):
            if not 0 <= layer < len(available):
                raise UserError(f"{kind} feature layer index {layer} is out of range "
                                f"0..{len(available) - 1}")
            chosen.append(available[layer])
        elif layer in available:
            chosen.append(layer)
        else:
            raise UserError(f"unknown {kind} feature layer {layer!r}; known: "
                            f"{', '.join(available)}")
    return tuple(chosen)


# --- random multi-scale filters -------------------------------------------------------------

POOLINGS = ("average", "extremes")


def random_params(seed: int, scales: int = RANDOM_SCALES, filters: int = RANDOM_FILTERS,
                  kernel: int = RANDOM_KERNEL, in_channels: int = 3):
    """{"scale{s}": {"kernel": [k, k, in_channels, filters], "bias": [filters]}}, He-normal."""
    keys = jax.random.split(jax.random.PRNGKey(seed), scales)
    std = np.sqrt(2.0 / (kernel * kernel * in_channels))
    return {f"scale{s}": {"kernel": std * jax.random.normal(keys[s], (kernel, kernel,
                                                                      in_channels, filters)),
                          "bias": jnp.zeros((filters,), jnp.float32)}
            for s in range(scales)}


def _halve(x, pooling):
    """One pyramid step: "average" 2x2 means of [B, H, W, C]; "extremes" the maxima of the
    first half of the channels and the minima of the second (the image's brightest and darkest
    pixels, each pooled from its own pyramid)."""
    if pooling == "average":
        return jax.lax.reduce_window(x, 0.0, jax.lax.add, (1, 2, 2, 1), (1, 2, 2, 1),
                                     "VALID") / 4.0
    hi, lo = jnp.split(x, 2, axis=-1)  # max_pool_2x2 drops an odd last row, as VALID does
    return jnp.concatenate([max_pool_2x2(hi), -max_pool_2x2(-lo)], axis=-1)


def _random_apply(params, images, layer_names, periodic=False, pooling="average"):
    deepest = max(int(n[len("scale"):]) for n in layer_names)
    x = images - 0.5  # centred, so random filters see contrast around mid-grey
    if pooling == "extremes":
        x = jnp.concatenate([x, x], axis=-1)  # the max and the min pyramid start as the image
    out = {}
    for s in range(deepest + 1):
        if s > 0:
            x = _halve(x, pooling)
        name = f"scale{s}"
        if name in layer_names:
            p = params[name]
            out[name] = jax.nn.relu(_conv(x, p["kernel"], p["bias"],
                                          padding="WRAP" if periodic else "VALID"))
    return [out[n] for n in layer_names]


def _build_random(cfg):
    available = tuple(f"scale{s}" for s in range(RANDOM_SCALES))
    names = _select_layers(tuple(cfg.get("layers", ()) or ()), available, available, "random")
    pooling = cfg.get("pooling", "average")
    if pooling not in POOLINGS:
        raise UserError(f"features.pooling must be one of {', '.join(POOLINGS)}, got "
                        f"{pooling!r}")
    params = random_params(int(cfg.get("seed", 0)),
                           in_channels=3 if pooling == "average" else 6)
    return FeatureExtractor("random", names, {n: params[n] for n in names},
                            functools.partial(_random_apply, pooling=pooling),
                            tuple(RANDOM_KERNEL * 2 ** int(n[len("scale"):]) for n in names))


# --- VGG-19 from a weights file --------------------------------------------------------------

def vgg19_layer_names() -> tuple[str, ...]:
    names = []
    for b, n in enumerate(VGG19_BLOCKS, start=1):
        for i in range(1, n + 1):
            names += [f"conv{b}_{i}", f"relu{b}_{i}"]
        names.append(f"pool{b}")
    return tuple(names)


def load_vgg19_weights(path) -> dict:
    """{conv name: {"kernel": [3, 3, I, O], "bias": [O]}} float32 from the .npz at `path`."""
    path = Path(str(path))
    if not str(path) or str(path) == ".":
        raise UserError("features.kind='vgg19' needs features.weights: the path of a VGG-19 "
                        ".npz (see jresgen/models/features.py for the format and a converter)")
    if not path.is_file():
        raise UserError(f"VGG-19 weights file not found: {path}")
    try:
        with np.load(path, allow_pickle=False) as data:
            arrays = {k: np.asarray(data[k]) for k in data.files}
    except Exception as e:  # zip/pickle/format errors: the file is not an .npz we can read
        raise UserError(f"cannot read VGG-19 weights {path}: {type(e).__name__}: {e}") from e
    params, channels = {}, 3
    for name in VGG19_CONVS:
        kernel, bias = arrays.get(f"{name}/kernel"), arrays.get(f"{name}/bias")
        if kernel is None or bias is None:
            raise UserError(f"VGG-19 weights {path} lack {name}/kernel or {name}/bias "
                            f"(expected keys conv1_1/kernel ... conv5_4/bias)")
        if kernel.ndim != 4 or kernel.shape[:3] != (3, 3, channels) or bias.shape != kernel.shape[3:]:
            raise UserError(f"VGG-19 weights {path}: {name}/kernel has shape {kernel.shape} and "
                            f"bias {bias.shape}; expected [3, 3, {channels}, C] (HWIO) and [C]")
        params[name] = {"kernel": jnp.asarray(kernel, jnp.float32),
                        "bias": jnp.asarray(bias, jnp.float32)}
        channels = kernel.shape[3]
    return params


def _vgg19_apply(params, images, layer_names, periodic=False):
    last = max(vgg19_layer_names().index(n) for n in layer_names)
    mean, std = jnp.asarray(IMAGENET_MEAN), jnp.asarray(IMAGENET_STD)
    x = (images - mean) / std
    out = {}
    for name in vgg19_layer_names()[:last + 1]:
        if name.startswith("conv"):
            x = _conv(x, params[name]["kernel"], params[name]["bias"],
                      padding="WRAP" if periodic else "SAME")
        elif name.startswith("relu"):
            x = jax.nn.relu(x)
        else:
            x = max_pool_2x2(x)  # VGG's 2x2/2 pooling, with an elementwise gradient
        if name in layer_names:
            out[name] = x
    return [out[n] for n in layer_names]


def _build_vgg19(cfg):
    available = vgg19_layer_names()
    names = _select_layers(tuple(cfg.get("layers", ()) or ()), available,
                            VGG19_DEFAULT_LAYERS, "vgg19")
    params = load_vgg19_weights(cfg.get("weights", ""))
    last = max(available.index(n) for n in names)
    needed = {n for n in available[:last + 1] if n.startswith("conv")}

    def min_size(name):  # each 2x2 pooling before (or at) the layer halves the image
        return 2 ** sum(1 for n in available[:available.index(name) + 1] if n.startswith("pool"))
    return FeatureExtractor("vgg19", names, {k: v for k, v in params.items() if k in needed},
                            _vgg19_apply, tuple(min_size(n) for n in names))


def build_feature_extractor(cfg) -> FeatureExtractor:
    """The extractor described by a `features` config section (a ConfigDict or a dict)."""
    kind = cfg.get("kind", "random")
    if kind == "random":
        return _build_random(cfg)
    if kind == "vgg19":
        return _build_vgg19(cfg)
    raise UserError(f"unknown features.kind {kind!r}; choose one of {', '.join(KINDS)}")


def default_features_config(kind: str = "random"):
    """A `features` config section with the defaults, for configs and the texture verb."""
    import ml_collections
    return ml_collections.ConfigDict(dict(kind=kind, seed=0, weights="", layers=()))
