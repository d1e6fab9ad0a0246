"""One module per family holding the pure functions its training needs.

A task module provides:
    build_model(config, axis_name=None) -> linen Module
    init_state(config, rng, batch, make_optimizer) -> state  (a pytree with `.step`)
    train_step(state, batch, *, config, axis_name=None) -> (state, metrics)
        metrics are scalars averaged over the global batch (pmean over `axis_name` under pmap)
    evaluate(config, state, eval_data) -> (summary: JSON-able dict, images: {name: uint8 HWC})
    format_report(summary) -> str;  eval_headline(summary) -> {name: float} for metrics.jsonl
and, for generative families,
    sample_images(config, state, num, seed, *, size=None, label=None)
        -> (images float32 [num, H, W, C] in [0, 1], labels [num] or None)
        `size` (H, W) for models that generate any size, `label` a class of a conditional
        model; a model that cannot honour either raises UserError (`jresgen sample`).
"""
import importlib

from jresgen.errors import UserError

FAMILIES = {"sr": "jresgen.tasks.sr", "classifier": "jresgen.tasks.classifier",
            "vae": "jresgen.tasks.vae", "gan": "jresgen.tasks.gan",
            "separation": "jresgen.tasks.separation",
            "style_transfer": "jresgen.tasks.style_transfer",
            "texture_net": "jresgen.tasks.texture_net"}


def get_task(name: str):
    if name not in FAMILIES:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(FAMILIES))}")
    return importlib.import_module(FAMILIES[name])
