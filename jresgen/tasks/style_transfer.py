"""Fast style transfer (Johnson, Alahi & Fei-Fei 2016): the pure functions its training needs.

Batches are {"image": [B, p, p, 3]} crops of the training photos in [0, 1]. The transformation
net (jresgen/models/style.py) maps a crop to its stylised version; the loss is

    content_weight * |F_c(out) - F_c(x)|^2 / |F_c(x)|^2          (one feature layer)
  + style_weight   * sum_l |G_l(out) - S_l|^2 / |S_l|^2          (Gram matrices, style layers)
  + tv_weight      * mean squared difference of neighbouring output pixels

with features from jresgen/models/features.py (`config.features`; fixed random multi-scale
filters by default) and S_l the Gram matrices of the style image (`config.style.image`: a
built-in name or a file path). The style layers end with the centred pixels themselves: random
filters respond to contrast far more than to the mean colour (a net trained without that layer
matched the style's feature Grams with a nearly black image), and the pixels' Gram matrix holds
the style's mean colour and colour covariance. Both feature terms are relative errors, so the
weights do not depend on the extractor's scale. The state carries the extractor's parameters and the style's
Gram matrices (`state.model_state`): a work directory stylises without the style image.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.exemplars import load_exemplar
from jresgen.data.resize import bicubic_resize, to_uint8
from jresgen.errors import UserError
from jresgen.metrics.gram import gram_loss, gram_matrix, inverse_norm_weights
from jresgen.models import style as style_models
from jresgen.models.features import build_feature_extractor
from jresgen.tasks.state import TrainState, mean_over_devices


def build_model(config, axis_name=None):
    return style_models.build(config.model)


@functools.lru_cache(maxsize=4)
def _extractor(features_json: str, content_layer: str):
    """(extractor, number of style layers): style layers first, then the content layer."""
    import ml_collections
    cfg = ml_collections.ConfigDict(__import__("json").loads(features_json))
    style_layers = build_feature_extractor(cfg).layer_names
    cfg.layers = tuple(style_layers) + (content_layer,)
    return build_feature_extractor(cfg), len(style_layers)


def feature_extractor(config):
    return _extractor(config.features.to_json(), config.style.content_layer)


def style_image(config) -> np.ndarray:
    """The style image, float32 [H, W, 3] in [0, 1], its longer side resized to
    `config.style.size` (0: as it is)."""
    image, _ = load_exemplar(config.style.image)
    size = config.style.size
    if size:
        h, w = image.shape[:2]
        scale = size / max(h, w)
        with jax.ensure_compile_time_eval():  # a constant, also when called under a trace
            image = np.clip(bicubic_resize(image, max(1, round(h * scale)),
                                           max(1, round(w * scale))), 0.0, 1.0)
    return image


def style_statistics(config, restoring: bool = False) -> dict:
    """{"features": the extractor's parameters, "style_grams": {"layer{i}": [C, C]}}: the fixed
    part of the state. `restoring`: when the style image cannot be read any more, a stand-in
    gives the shapes (a Gram matrix's shape does not depend on the image), and the checkpoint
    the real values."""
    extractor, num_style = feature_extractor(config)
    try:
        style = style_image(config)[None]
    except UserError:
        if not restoring:
            raise
        style = np.zeros((1, extractor.min_size, extractor.min_size, 3), np.float32)
    # Concrete values even when called under a trace (the loop initialises the state under
    # jit): they are constants of the experiment, not functions of the step's inputs.
    with jax.ensure_compile_time_eval():
        feats = _style_layers(extractor.apply(extractor.params, style), num_style, style)
        grams = {f"layer{i}": gram_matrix(f)[0] for i, f in enumerate(feats)}
    return {"features": extractor.params, "style_grams": grams}


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    init_rng, state_rng = jax.random.split(rng)
    params = build_model(config).init(init_rng, jnp.asarray(batch["image"][:1]))["params"]
    # Traced (the loop initialises under jit, restores under eval_shape): a work directory
    # whose style file has gone still loads.
    statistics = style_statistics(config, restoring=isinstance(rng, jax.core.Tracer))
    tx, _ = make_optimizer()
    return TrainState.create(params=params, tx=tx, rng=state_rng, model_state=statistics)


def _style_layers(features, num_style, images) -> list:
    """The feature maps the style loss compares: the extractor's style layers, then the centred
    pixels (colour statistics)."""
    return list(features[:num_style]) + [images - 0.5]


def _grams(model_state) -> list:
    g = model_state["style_grams"]
    return [g[f"layer{i}"] for i in range(len(g))]


def losses(config, model_state, images, outputs) -> dict:
    """The three terms (unweighted) and the weighted total, each a scalar mean over the batch."""
    extractor, num_style = feature_extractor(config)
    out_feats = extractor.apply(model_state["features"], outputs)
    content_target = extractor.apply(model_state["features"], images)[-1]
    content = jnp.mean(jnp.square(out_feats[-1] - content_target)) / \
        (jnp.mean(jnp.square(content_target)) + 1e-12)
    targets = _grams(model_state)
    style = gram_loss(_style_layers(out_feats, num_style, outputs), targets,
                      inverse_norm_weights(targets))
    tv = jnp.mean(jnp.square(outputs[:, 1:] - outputs[:, :-1])) + \
        jnp.mean(jnp.square(outputs[:, :, 1:] - outputs[:, :, :-1]))
    s = config.style
    total = s.content_weight * content + s.style_weight * style + s.tv_weight * tv
    return {"loss": total, "content_loss": content, "style_loss": style, "tv_loss": tv}


def train_step(state: TrainState, batch, *, config, axis_name=None):
    model = build_model(config)

    def loss_fn(params):
        outputs = model.apply({"params": params}, batch["image"])
        terms = losses(config, state.model_state, batch["image"], outputs)
        return terms["loss"], terms

    (_, terms), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grads, terms = mean_over_devices((grads, terms), axis_name)
    state = state.apply_gradients(grads)
    return state, {**terms, "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(state.params)}


@functools.partial(jax.jit, static_argnames=("model",))
def _apply(model, params, images):
    return model.apply({"params": params}, images)


def stylize(config, state: TrainState, image: np.ndarray) -> np.ndarray:
    """One image [H, W, 3] in [0, 1] (sides >= 8) -> stylised float32 [H, W, 3], clipped."""
    if min(image.shape[:2]) < style_models.MIN_SIZE:
        raise UserError(f"image {image.shape[1]}x{image.shape[0]} is too small to stylise: "
                        f"each side needs at least {style_models.MIN_SIZE} pixels")
    out = _apply(build_model(config), state.params, jnp.asarray(image[None], jnp.float32))
    return np.clip(np.asarray(out[0]), 0.0, 1.0)


@functools.partial(jax.jit, static_argnames=("config_json",))
def _scores(config_json, model_state, image, output):
    import ml_collections
    config = ml_collections.ConfigDict(__import__("json").loads(config_json))
    return losses(config, model_state, image[None], output[None])


def evaluate(config, state: TrainState, photos) -> tuple[dict, dict]:
    """The loss terms of the stylised validation photos (clipped, as written), beside the style
    loss of the photos themselves (what the net started from); an input | stylised strip per
    photo for samples/."""
    images, strips = {}, {}
    config_json = config.to_json()
    for name, photo in photos.items():
        photo = np.asarray(photo, np.float32)
        out = stylize(config, state, photo)
        terms = _scores(config_json, state.model_state, photo, out)
        before = _scores(config_json, state.model_state, photo, photo)
        images[name] = {k: float(v) for k, v in terms.items()}
        images[name]["style_loss_input"] = float(before["style_loss"])
        strips[name] = to_uint8(np.concatenate([photo, out], axis=1))
    keys = next(iter(images.values())).keys()
    mean = {k: float(np.mean([img[k] for img in images.values()])) for k in keys}
    return {"style": config.style.image, "mean": mean, "images": images}, strips


def format_report(summary: dict) -> str:
    lines = [f"style {summary['style']!r}; losses on the stylised validation photos",
             f"{'image':<12}{'content':>10}{'style':>10}{'style of input':>16}{'tv':>10}"]
    for name, m in [*summary["images"].items(), ("mean", summary["mean"])]:
        lines.append(f"{name:<12}{m['content_loss']:10.4f}{m['style_loss']:10.4f}"
                     f"{m['style_loss_input']:16.4f}{m['tv_loss']:10.5f}")
    return "\n".join(lines)


def eval_headline(summary: dict) -> dict[str, float]:
    m = summary["mean"]
    return {"val_content_loss": m["content_loss"], "val_style_loss": m["style_loss"]}
