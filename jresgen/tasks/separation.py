"""Texture/structure separation: a residual net trained to reproduce the ROF solver
(jresgen/models/rof.py) in one forward pass.

Batches are {"image": [B, p, p, 3]} crops of the training photos in [0, 1]; the target, the
solver's structure of each crop at `config.separation.strength`, is computed inside the step
(the jitted solver is a fixed number of cheap stencil iterations), so no target is stored and
any crop source works. The loss is L1 or L2 between the net's and the solver's structure.
Evaluation runs both on the whole validation photos: the net's error against the solver,
the reconstruction error of the two 8-bit PNGs (jresgen/data/separation_png.py), and the
time of each on the same image.
"""
import functools
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jresgen.data import separation_png
from jresgen.data.resize import to_uint8
from jresgen.metrics import psnr
from jresgen.models import separation as separation_models
from jresgen.models.rof import rof_structure
from jresgen.tasks.state import TrainState, mean_over_devices

LOSSES = {"l1": lambda d: jnp.mean(jnp.abs(d)), "l2": lambda d: jnp.mean(d ** 2)}


def build_model(config, axis_name=None):
    return separation_models.build(config.model)


def init_state(config, rng, batch, make_optimizer) -> TrainState:
    init_rng, state_rng = jax.random.split(rng)
    params = build_model(config).init(init_rng, jnp.asarray(batch["image"][:1]))["params"]
    tx, _ = make_optimizer()
    return TrainState.create(params=params, tx=tx, rng=state_rng)


def solver_structure(config, image):
    """The classical solver's structure of image [..., H, W, 3] at the config's strength."""
    s = config.separation
    return rof_structure(image, s.strength, iterations=s.iterations)


def train_step(state: TrainState, batch, *, config, axis_name=None):
    model = build_model(config)
    target = solver_structure(config, batch["image"])
    loss_of = LOSSES[config.model.loss]

    def loss_fn(params):
        return loss_of(model.apply({"params": params}, batch["image"]) - target)

    loss, grads = jax.value_and_grad(loss_fn)(state.params)
    grads, loss = mean_over_devices((grads, loss), axis_name)
    state = state.apply_gradients(grads)
    return state, {"loss": loss, "grad_norm": optax.tree.norm(grads),
                   "param_norm": optax.tree.norm(state.params)}


@functools.partial(jax.jit, static_argnames=("model",))
def _apply(model, params, images):
    return model.apply({"params": params}, images)


def network_structure(config, state: TrainState, image: np.ndarray) -> np.ndarray:
    """The net's structure of one image [H, W, 3] in [0, 1] (float32, clipped to [0, 1])."""
    out = _apply(build_model(config), state.params, jnp.asarray(image[None], jnp.float32))
    return np.clip(np.asarray(out[0]), 0.0, 1.0)


def _seconds(fn, repeats: int = 2) -> float:
    """Best wall time of `fn()` after one untimed call (which compiles)."""
    jax.block_until_ready(fn())
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        best = min(best, time.perf_counter() - start)
    return best


def evaluate(config, state: TrainState, photos) -> tuple[dict, dict]:
    """Per validation photo and on average: the net against the solver (PSNR in dB over RGB in
    [0, 1], mean absolute error in 8-bit levels; the input's own distance to the solver's
    structure beside it, as the do-nothing baseline), the worst reconstruction error of the
    PNG pair in levels, and solver / net seconds on the same image (compiled, best of 2).
    Images: input | solver structure | net structure | solver texture | net texture."""
    images, strips = {}, {}
    params = jax.device_put(state.params)
    state = state.replace(params=params)
    for name, photo in photos.items():
        photo = np.asarray(photo, np.float32)
        solver = np.clip(np.asarray(solver_structure(config, photo)), 0.0, 1.0)
        net = network_structure(config, state, photo)
        structure_png, texture_png, clipped = separation_png.encode(photo, net)
        rebuilt = separation_png.decode(structure_png, texture_png).astype(np.int32)
        solver_s = _seconds(lambda: solver_structure(config, photo))
        net_s = _seconds(lambda: _apply(build_model(config), params, jnp.asarray(photo[None])))
        images[name] = {
            "psnr_db": float(psnr(net, solver, 1.0)),
            "mean_abs_error_levels": float(255 * np.mean(np.abs(net - solver))),
            "identity_psnr_db": float(psnr(photo, solver, 1.0)),
            "reconstruction_max_error_levels": int(
                np.abs(rebuilt - separation_png.to_levels(photo)).max()),
            "texture_clipped_values": clipped,
            "solver_seconds": solver_s, "network_seconds": net_s, "speedup": solver_s / net_s,
            "size": [int(photo.shape[1]), int(photo.shape[0])]}
        strips[name] = to_uint8(np.concatenate(
            [photo, solver, net, 0.5 + photo - solver, 0.5 + photo - net], axis=1))
    keys = ("psnr_db", "mean_abs_error_levels", "identity_psnr_db", "solver_seconds",
            "network_seconds", "speedup")
    mean = {k: float(np.mean([img[k] for img in images.values()])) for k in keys}
    mean["reconstruction_max_error_levels"] = max(
        img["reconstruction_max_error_levels"] for img in images.values())
    return {"strength": config.separation.strength, "iterations": config.separation.iterations,
            "mean": mean, "images": images}, strips


def format_report(summary: dict) -> str:
    lines = [f"ROF strength {summary['strength']}, solver {summary['iterations']} iterations",
             f"{'image':<12}{'net PSNR':>10}{'MAE lv':>8}{'input PSNR':>12}{'recon lv':>10}"
             f"{'solver s':>10}{'net s':>8}{'speed-up':>10}"]
    for name, m in [*summary["images"].items(), ("mean", summary["mean"])]:
        lines.append(f"{name:<12}{m['psnr_db']:10.2f}{m['mean_abs_error_levels']:8.2f}"
                     f"{m['identity_psnr_db']:12.2f}{m['reconstruction_max_error_levels']:10d}"
                     f"{m['solver_seconds']:10.3f}{m['network_seconds']:8.3f}"
                     f"{m['speedup']:9.1f}x")
    lines.append("net PSNR / MAE: the net's structure against the solver's (MAE in 8-bit levels);"
                 " input PSNR: the input against the solver's structure (doing nothing)")
    return "\n".join(lines)


def eval_headline(summary: dict) -> dict[str, float]:
    m = summary["mean"]
    return {"val_psnr_db": m["psnr_db"], "val_mae_levels": m["mean_abs_error_levels"],
            "val_speedup": m["speedup"]}
