"""One module per family holding the pure functions its training needs.

A task module provides:
    build_model(config, axis_name=None) -> linen Module
    init_state(config, rng, batch, make_optimizer) -> state  (a pytree with `.step`)
    train_step(state, batch, *, config, axis_name=None) -> (state, metrics)
        metrics are scalars averaged over the global batch (pmean over `axis_name` under pmap)
    evaluate(config, state, eval_data) -> (summary: JSON-able dict, images: {name: uint8 HWC})
    format_report(summary) -> str;  eval_headline(summary) -> {name: float} for metrics.jsonl
and, for generative families, sample(config, state, num, seed) -> uint8 image grid.
"""
import importlib

from jresgen.errors import UserError

FAMILIES = {"sr": "jresgen.tasks.sr", "classifier": "jresgen.tasks.classifier",
            "vae": "jresgen.tasks.vae", "gan": "jresgen.tasks.gan",
            "separation": "jresgen.tasks.separation",
            "style_transfer": "jresgen.tasks.style_transfer"}


def get_task(name: str):
    if name not in FAMILIES:
        raise UserError(f"unknown task {name!r}; known tasks: {', '.join(sorted(FAMILIES))}")
    return importlib.import_module(FAMILIES[name])
