"""Super-resolution: the pure functions its training needs.

Batches are {"lr": [B, h, w, 3], "hr": [B, h*s, w*s, 3]}, RGB in [0, 1]. The loss is L1 (EDSR)
or L2 (SRResNet's MSE), chosen by `config.model.loss`.

Evaluation scores the validation photos under the training protocol (bicubic LR: the summary's
"mean" and "images") and under every degradation of the fixed panel in
jresgen/data/degradation_panel.py ("degradations"), always against bicubic upsampling of the
same LR image.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data.degradation_panel import PANEL, panel_lr
from jresgen.data.resize import bicubic_resize, to_uint8, quantize
from jresgen.data.sr import dihedral, undo_dihedral
from jresgen.metrics import sr_metrics
from jresgen.models import sr as sr_models
from jresgen.tasks.state import TrainState, mean_over_devices

LOSSES = {"l1": lambda d: jnp.mean(jnp.abs(d)), "l2": lambda d: jnp.mean(d ** 2)}


def build_model(config, axis_name=None):
    return sr_models.build(config.model, axis_name=axis_name)


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    """Parameters from `rng` and one batch's shapes; `make_optimizer()` -> (tx, schedule)."""
    init_rng, state_rng = jax.random.split(rng)
    variables = build_model(config).init(init_rng, jnp.asarray(batch["lr"][:1]), train=False)
    params = variables.pop("params")
    tx, _ = make_optimizer()
    return TrainState.create(params=params, model_state=dict(variables), tx=tx, rng=state_rng)


def train_step(state: TrainState, batch, *, config, axis_name=None):
    """One optimizer step on the (per-device part of the) global batch."""
    model = build_model(config, axis_name)
    loss_of = LOSSES[config.model.loss]
    mutable = list(state.model_state)

    def loss_fn(params):
        out, new_model_state = model.apply({"params": params, **state.model_state}, batch["lr"],
                                           train=True, mutable=mutable)
        return loss_of(out - batch["hr"]), new_model_state

    (loss, new_model_state), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
    grads, loss = mean_over_devices((grads, loss), axis_name)
    state = state.apply_gradients(grads, model_state=dict(new_model_state))
    metrics = {"loss": loss, "grad_norm": optax.tree.norm(grads),
               "param_norm": optax.tree.norm(state.params)}
    return state, metrics


@functools.partial(jax.jit, static_argnames=("model",))
def _apply(model, variables, lr):
    return model.apply(variables, lr, train=False)


def super_resolve(config, state: TrainState, lr: np.ndarray, tile: int = 128,
                  overlap: int = 16, tile_batch: int = 4) -> np.ndarray:
    """LR [h, w, 3] in [0, 1] -> SR [h*s, w*s, 3] (float, unclipped), any size.

    The image is cut into `tile` x `tile` LR tiles that overlap by `overlap` pixels on each side;
    each tile's centre is kept, so memory is bounded by `tile_batch` tiles and every tile has
    the same shape (one compilation). Borders are filled by mirroring. Tiles equal the whole-
    image result wherever the net's receptive field stays within `overlap` pixels.
    """
    model = build_model(config)
    variables = jax.device_put({"params": state.params, **state.model_state})  # once, not per tile
    s = config.model.scale
    h, w, c = lr.shape
    core = tile - 2 * overlap
    if core <= 0:
        raise ValueError(f"tile {tile} must exceed twice the overlap {overlap}")
    rows, cols = -(-h // core), -(-w // core)
    padded = np.pad(lr, ((overlap, rows * core - h + overlap), (overlap, cols * core - w + overlap),
                         (0, 0)), mode="symmetric")
    origins = [(r * core, q * core) for r in range(rows) for q in range(cols)]
    out = np.empty((rows * core * s, cols * core * s, c), np.float32)
    for start in range(0, len(origins), tile_batch):
        chunk = origins[start:start + tile_batch]
        tiles = np.stack([padded[y:y + tile, x:x + tile] for y, x in chunk])
        if len(chunk) < tile_batch:  # same batch shape every call: one compilation
            tiles = np.concatenate([tiles, np.zeros((tile_batch - len(chunk),) + tiles.shape[1:],
                                                    tiles.dtype)])
        result = np.asarray(_apply(model, variables, jnp.asarray(tiles)))
        for (y, x), sr_tile in zip(chunk, result):
            out[y * s:(y + core) * s, x * s:(x + core) * s] = \
                sr_tile[overlap * s:(overlap + core) * s, overlap * s:(overlap + core) * s]
    return out[:h * s, :w * s]


# The eight symmetries of the square, as (flip_h, flip_v, transpose).
DIHEDRAL = tuple((fh, fv, t) for t in (0, 1) for fv in (0, 1) for fh in (0, 1))


def self_ensemble(upscale, lr: np.ndarray) -> np.ndarray:
    """EDSR's x8 self-ensemble: `upscale` ([h, w, C] -> [h*s, w*s, C]) applied to the eight
    flips/transposes of `lr`, each output mapped back and the eight averaged."""
    outputs = [undo_dihedral(upscale(np.ascontiguousarray(dihedral(lr, *g))), *g)
               for g in DIHEDRAL]
    return np.mean(outputs, axis=0)


def upscaler(config, state: TrainState, ensemble: bool = False, **tiling):
    """`lr -> sr`: `super_resolve` with the config's tiling (overridden by `tiling`), through
    the x8 self-ensemble if `ensemble`."""
    tiling = {**config.tiling.to_dict(), **tiling}

    def upscale(lr):
        return super_resolve(config, state, lr, **tiling)
    return functools.partial(self_ensemble, upscale) if ensemble else upscale


def _means(images: dict) -> dict:
    return {kind: {k: float(np.mean([img[kind][k] for img in images.values()]))
                   for k in ("psnr_y", "ssim_y", "psnr_rgb")} for kind in ("model", "bicubic")}


def evaluate(config, state: TrainState, pairs, ensemble: bool = False,
             with_panel: bool = True) -> tuple[dict, dict]:
    """Model and bicubic PSNR/SSIM per validation image and their mean, under the training
    protocol and (`with_panel`) under each panel degradation; and a bicubic | model | ground
    truth strip per image (uint8) for the samples directory. `ensemble` scores the x8
    self-ensemble."""
    s = config.model.scale
    upscale = upscaler(config, state, ensemble)
    panel = {name: {} for name in (PANEL if with_panel else ("bicubic",))}
    strips = {}
    for pair in pairs:
        hr_h, hr_w = pair.hr.shape[:2]
        for name in panel:
            lr = pair.lr if name == "bicubic" else panel_lr(name, pair.hr, s, pair.name)
            sr = quantize(upscale(lr))
            bicubic = quantize(bicubic_resize(lr, hr_h, hr_w))
            panel[name][pair.name] = {"model": sr_metrics(sr, pair.hr, s),
                                      "bicubic": sr_metrics(bicubic, pair.hr, s)}
            if name == "bicubic":
                strips[pair.name] = to_uint8(np.concatenate([bicubic, sr, pair.hr], axis=1))
    images = panel["bicubic"]  # the papers' protocol: today's "mean" and "images"
    summary = {"mean": _means(images), "images": images}
    if with_panel:
        summary.update(degradations={name: _means(per_image) for name, per_image in
                                     panel.items()}, degradation_images=panel)
    return summary, strips


def format_report(summary: dict) -> str:
    """Tables of the `evaluate` summary for people: the training protocol per image, then
    Y-PSNR per panel degradation and image."""
    lines = [f"{'image':<22}{'':>8}{'PSNR-Y':>9}{'SSIM-Y':>9}{'PSNR-RGB':>10}"]
    for name, result in [*summary["images"].items(), ("mean", summary["mean"])]:
        for kind in ("bicubic", "model"):
            m = result[kind]
            lines.append(f"{name if kind == 'bicubic' else '':<22}{kind:>8}"
                         f"{m['psnr_y']:9.3f}{m['ssim_y']:9.4f}{m['psnr_rgb']:10.3f}")
    gain = summary["mean"]["model"]["psnr_y"] - summary["mean"]["bicubic"]["psnr_y"]
    lines.append(f"model - bicubic, mean PSNR-Y: {gain:+.3f} dB")
    if "degradation_images" not in summary:
        return "\n".join(lines)
    panel = summary["degradation_images"]
    names = list(next(iter(panel.values())))
    lines += ["", "PSNR-Y gain over bicubic upsampling of the same LR, per degradation (dB):",
              f"{'degradation':<24}" + "".join(f"{n[:12]:>13}" for n in names) +
              f"{'mean':>9}{'bicubic':>9}{'model':>9}"]
    gains, worst = [], None
    for deg, per_image in panel.items():
        row = [per_image[n]["model"]["psnr_y"] - per_image[n]["bicubic"]["psnr_y"]
               for n in names]
        mean = summary["degradations"][deg]
        lines.append(f"{deg:<24}" + "".join(f"{g:+13.3f}" for g in row) +
                     f"{mean['model']['psnr_y'] - mean['bicubic']['psnr_y']:+9.3f}"
                     f"{mean['bicubic']['psnr_y']:9.3f}{mean['model']['psnr_y']:9.3f}")
        gains.append(np.mean(row))
        worst = min(row) if worst is None else min(worst, *row)
    lines.append(f"panel mean gain {np.mean(gains):+.3f} dB; worst image {worst:+.3f} dB")
    return "\n".join(lines)


def eval_headline(summary: dict) -> dict[str, float]:
    """The few figures the training loop logs after each evaluation."""
    mean = summary["mean"]
    return {"val_psnr_y": mean["model"]["psnr_y"], "val_ssim_y": mean["model"]["ssim_y"],
            "val_psnr_y_bicubic": mean["bicubic"]["psnr_y"]}
