"""Checkpoints with orbax: the train state plus small JSON metadata, in `WORKDIR/checkpoints`.

orbax writes each step into a temporary directory and renames it when complete, so a killed
run never leaves a half-written checkpoint that looks finished. The state is restored against
an abstract state (shapes and dtypes from `jax.eval_shape`), so nothing is computed twice.
"""
from pathlib import Path

import jax
import orbax.checkpoint as ocp

from jresgen.errors import UserError


class Checkpointer:
    def __init__(self, directory, *, max_to_keep: int = 3, create: bool = True):
        self.directory = Path(directory).absolute()
        if not create and not self.directory.is_dir():
            raise UserError(f"no checkpoints in {self.directory.parent}: train there first")
        self.manager = ocp.CheckpointManager(
            self.directory, item_names=("state", "meta"),
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create))

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def save(self, step: int, state, meta: dict) -> None:
        """Saves asynchronously; call `wait()` before reading it back or exiting."""
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)

    def restore(self, abstract_state, step: int | None = None):
        """(state, meta) of `step` (default: the latest) shaped like `abstract_state`."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise UserError(f"no checkpoint in {self.directory}: train there first")
        target = jax.tree.map(ocp.utils.to_shape_dtype_struct, abstract_state)
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(target), meta=ocp.args.JsonRestore()))
        except ValueError as e:  # a changed model config: shapes or tree no longer match
            reason = str(e).strip().splitlines()[0].split(". ")[0][:160]
            raise UserError(f"checkpoint {step} in {self.directory} does not fit this config "
                            f"({reason}); use a new --workdir, or resume without --config") from e
        return restored.state, restored.meta

    def wait(self) -> None:
        self.manager.wait_until_finished()

    def close(self) -> None:
        self.manager.wait_until_finished()
        self.manager.close()
