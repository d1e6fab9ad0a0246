"""`jresgen export`: one variant of a sweep as a work directory of its own.

The new directory holds what a single run of that variant would have written — its config
(the sweep's values filled in, no sweep section), a checkpoint of its state at the sweep's
step, its batch spec, metrics, TensorBoard events and samples — so every verb (train to resume,
eval, sample, upscale, ...) treats it as that single run.
"""
import shutil
from pathlib import Path

from jresgen.errors import UserError
from jresgen.train.checkpoint import Checkpointer
from jresgen.train.loop import BATCH_SPEC, example_batch, load_run
from jresgen.train.runs import VARIANTS_DIR, SweepRun
from jresgen.train.sweep import describe
from jresgen.train.writer import MetricWriter


def export_variant(workdir, variant: int, out, *, step: int | None = None) -> str:
    """Writes variant `variant` of the sweep in `workdir` to the new work directory `out`;
    returns a line saying what was written."""
    workdir, out = Path(workdir), Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UserError(f"{out} already exists and is not empty: export into a new directory")
    run, sstate = load_run(workdir, step=step, with_eval_data=False)
    if not isinstance(run, SweepRun):
        raise UserError(f"{workdir} holds a single run, not a sweep: use it as it is")
    if not 0 <= variant < run.sweep.num:
        raise UserError(f"--variant must be between 0 and {run.sweep.num - 1}, got {variant}")
    example = example_batch(run.config, workdir)
    state = run.variant_states(sstate, example)[variant]
    at = int(state.step)  # earlier than the sweep's step if the variant stopped (not finite)
    out.mkdir(parents=True, exist_ok=True)
    ckpt = Checkpointer(out / "checkpoints", max_to_keep=run.config.keep_checkpoints)
    try:
        ckpt.save(at, state, {"step": at})
    finally:
        ckpt.close()
    (out / "config.json").write_text(run.configs[variant].to_json_best_effort(indent=2) + "\n")
    shutil.copy(workdir / BATCH_SPEC, out / BATCH_SPEC)
    own = workdir / VARIANTS_DIR / str(variant)
    for name in ("metrics.jsonl", "tensorboard", "samples"):
        source = own / name
        if source.is_dir():
            shutil.copytree(source, out / name)
        elif source.exists():
            shutil.copy(source, out / name)
    MetricWriter(out).truncate_after(at)
    stopped = "" if at == int(sstate.step) else \
        f" (it stopped being finite after step {at}; that is its last finite state)"
    return (f"variant {variant} ({describe(run.sweep.values[variant])}) of {workdir} at step "
            f"{at} -> {out}{stopped}")
