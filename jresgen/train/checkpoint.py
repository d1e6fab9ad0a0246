"""Checkpoints with orbax: the train state plus small JSON metadata, in `WORKDIR/checkpoints`.

orbax writes each step into a temporary directory and renames it when complete, so a killed
run never leaves a half-written checkpoint that looks finished. What orbax cannot see is a
checkpoint damaged afterwards (a truncated or deleted file, a missing item), so:

- the metadata (`meta`) of each checkpoint records the state's leaves (path, shape, dtype):
  a config that no longer fits is told apart from a damaged checkpoint before any array is
  read;
- once a save has completed, `files.json` in the step's directory records every file's
  size: truncated or deleted array files are found by a listing, before orbax reads them
  (a failing read in orbax leaves tensorstore callbacks that print "Event loop is closed"
  tracebacks after our one-line message);
- `restore_latest` falls back from a damaged latest checkpoint to the newest intact one.

States are restored against an abstract state (`jax.ShapeDtypeStruct`s with shardings), so
arrays land straight in the placement the caller asks for; nothing is built twice.
"""
import json
import os
from pathlib import Path

import jax
import numpy as np
import orbax.checkpoint as ocp

from jresgen.errors import UserError
from jresgen.train.distributed import sync

FILES = "files.json"  # written by us next to orbax's items, ignored by orbax


class DamagedCheckpoint(Exception):
    """A checkpoint whose files are missing, truncated or unreadable."""


def leaf_signature(tree) -> dict[str, list]:
    """{path: [shape, dtype]} of every array leaf: what a checkpoint must match."""
    return {jax.tree_util.keystr(path): [list(np.shape(x)), str(np.dtype(x.dtype))]
            for path, x in jax.tree_util.tree_leaves_with_path(tree)}


def _first_line(error: BaseException, limit: int = 160) -> str:
    text = str(error).strip().splitlines()
    return (text[0] if text else type(error).__name__)[:limit]


_READ_ERRORS = ("OUT_OF_RANGE", "FAILED_PRECONDITION", "NOT_FOUND", "DATA_LOSS",
                "Truncated", "reading array")


def _damage_reason(error: BaseException) -> str:
    """A short reason for a failed read; tensorstore's own messages run to several lines."""
    chain, e = [], error
    while e is not None and len(chain) < 5:
        chain.append(str(e))
        e = e.__cause__ or e.__context__
    text = " ".join(chain)
    if any(code in text for code in _READ_ERRORS):
        code = next((c for c in _READ_ERRORS[:4] if c in text), None)
        return "an array file cannot be read" + (f": {code}" if code else "")
    return _first_line(error)


class Checkpointer:
    def __init__(self, directory, *, max_to_keep: int = 3, create: bool = True):
        self.directory = Path(directory).absolute()
        if not create and not self.directory.is_dir():
            raise UserError(f"no checkpoints in {self.directory.parent}: train there first")
        self.manager = ocp.CheckpointManager(
            self.directory, item_names=("state", "meta"),
            options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=create))
        self._unlisted = None  # the step whose save may still be running

    def latest_step(self) -> int | None:
        return self.manager.latest_step()

    def all_steps(self) -> list[int]:
        return sorted(self.manager.all_steps())

    def save(self, step: int, state, meta: dict) -> None:
        """Saves asynchronously from the arrays as they are (device arrays are fine: orbax
        copies them out itself); `wait()` or `close()` before reading it back."""
        self._list_finished()
        meta = {**meta, "step": int(step), "leaves": leaf_signature(state)}
        self.manager.save(step, args=ocp.args.Composite(
            state=ocp.args.StandardSave(state), meta=ocp.args.JsonSave(meta)), force=True)
        self._unlisted = step

    def poll(self) -> None:
        """Lists the files of a save that has finished meanwhile (cheap; the loop calls it at
        log steps, so a run killed later still leaves its checkpoints listed)."""
        if self._unlisted is not None and not self.manager.is_saving_in_progress():
            self._list_finished()

    def _list_finished(self) -> None:
        """Waits for the pending save and records its files' sizes."""
        if self._unlisted is None:
            return
        self.manager.wait_until_finished()
        step_dir = self.directory / str(self._unlisted)
        if step_dir.is_dir() and jax.process_index() == 0:  # several processes: one lists
            files = {str(p.relative_to(step_dir)): p.stat().st_size
                     for p in sorted(step_dir.rglob("*")) if p.is_file() and p.name != FILES}
            tmp = step_dir / (FILES + ".tmp")
            tmp.write_text(json.dumps(files))
            os.replace(tmp, step_dir / FILES)
        self._unlisted = None

    # --- reading ---------------------------------------------------------------------------

    def check_files(self, step: int) -> None:
        """Raises DamagedCheckpoint when a file listed at save time is missing or has another
        size, or when an item is missing."""
        step_dir = self.directory / str(step)
        for item in ("state", "meta"):
            if not (step_dir / item).is_dir():
                raise DamagedCheckpoint(f"its {item!r} item is missing")
        listing = step_dir / FILES
        if not listing.exists():  # saved by a run that stopped before listing it
            return
        for name, size in json.loads(listing.read_text()).items():
            path = step_dir / name
            if not path.exists():
                raise DamagedCheckpoint(f"file {name} is missing")
            if path.stat().st_size != size:
                raise DamagedCheckpoint(f"file {name} has {path.stat().st_size} bytes "
                                        f"of {size}")

    def read_meta(self, step: int) -> dict:
        try:
            return self.manager.restore(step, args=ocp.args.Composite(
                meta=ocp.args.JsonRestore())).meta
        except Exception as e:  # noqa: BLE001 - any failure to read it means damage
            raise DamagedCheckpoint(f"its metadata cannot be read ({_first_line(e)})") from e

    def restore(self, abstract_state, step: int | None = None, sharding=None):
        """(state, meta) of `step` (default: the latest) shaped like `abstract_state`, its
        arrays placed with `sharding` (default: the first device). Raises DamagedCheckpoint,
        or UserError when the checkpoint is intact but does not fit this config."""
        step = self.latest_step() if step is None else step
        if step is None:
            raise UserError(f"no checkpoint in {self.directory}: train there first")
        self.check_files(step)
        meta = self.read_meta(step)
        self._check_fits(step, meta, abstract_state)
        sharding = sharding or jax.sharding.SingleDeviceSharding(jax.devices()[0])
        target = jax.tree.map(
            lambda x: jax.ShapeDtypeStruct(np.shape(x), x.dtype, sharding=sharding),
            abstract_state)
        try:
            restored = self.manager.restore(step, args=ocp.args.Composite(
                state=ocp.args.StandardRestore(target)))
        except ValueError as e:
            if "mismatch" in str(e).lower():  # a checkpoint without leaves in its meta
                self._does_not_fit(step, _first_line(e), e)
            raise DamagedCheckpoint(_damage_reason(e)) from e
        except Exception as e:  # noqa: BLE001 - KeyError (no item), OSError, ...
            raise DamagedCheckpoint(_damage_reason(e)) from e
        state = restored.state
        got, want = leaf_signature(state), leaf_signature(abstract_state)
        if got != want:
            self._does_not_fit(step, _difference(got, want))
        return state, meta

    def _check_fits(self, step, meta, abstract_state) -> None:
        saved = meta.get("leaves")
        if saved is not None:
            wanted = leaf_signature(abstract_state)
            if saved != wanted:
                self._does_not_fit(step, _difference(saved, wanted))

    def _does_not_fit(self, step, reason, cause=None):
        raise UserError(f"checkpoint {step} in {self.directory} does not fit this config "
                        f"({reason}); use a new --workdir, or resume without --config") from cause

    def restore_latest(self, abstract_state, sharding=None, *, warn, set_aside=None):
        """(state, meta, step) of the newest intact checkpoint. A damaged newer one is named in
        one `warn(line)`; with `set_aside` (a directory) it is moved there, so that training
        can write that step again. None intact: one UserError naming the damaged one(s)."""
        steps = self.all_steps()
        if not steps:
            raise UserError(f"no checkpoint in {self.directory}: train there first")
        damaged = []
        for step in reversed(steps):
            try:
                state, meta = self.restore(abstract_state, step, sharding)
            except DamagedCheckpoint as e:
                damaged.append((step, str(e)))
                continue
            if damaged:
                warn(self._fallback_line(damaged, step, set_aside))
            return state, meta, step
        first, reason = damaged[0]
        others = "" if len(damaged) == 1 else \
            f"; so are {', '.join(str(s) for s, _ in damaged[1:])}"
        raise UserError(f"checkpoint {first} in {self.directory} is damaged ({reason}){others}; "
                        f"no intact checkpoint is left: remove {self.directory} to start over")

    def _fallback_line(self, damaged, step, set_aside) -> str:
        names = ", ".join(str(s) for s, _ in damaged)
        line = (f"checkpoint {names} in {self.directory} is damaged ({damaged[0][1]}); "
                f"using checkpoint {step}, the newest intact one")
        if set_aside is not None:
            set_aside = Path(set_aside)
            if jax.process_index() == 0:  # several processes: one moves, all wait for it
                set_aside.mkdir(parents=True, exist_ok=True)
                for s, _ in damaged:
                    target, n = set_aside / str(s), 1
                    while target.exists():  # damaged twice at the same step: keep both
                        target, n = set_aside / f"{s}.{n}", n + 1
                    (self.directory / str(s)).rename(target)
            sync("jresgen-set-aside-damaged-checkpoints")
            self.manager.reload()
            line += f" (the damaged one moved to {set_aside})"
        return line

    def wait(self) -> None:
        self._list_finished()
        self.manager.wait_until_finished()

    def close(self) -> None:
        try:
            self.wait()
        finally:
            self.manager.close()


def _difference(saved: dict, wanted: dict) -> str:
    """The first leaf that differs, in words."""
    for key in wanted:
        if key not in saved:
            return f"the checkpoint has no {key}"
        if saved[key] != wanted[key]:
            (s_shape, s_dtype), (w_shape, w_dtype) = saved[key], wanted[key]
            return (f"{key} is {s_dtype}{s_shape} in the checkpoint, "
                    f"{w_dtype}{w_shape} in this config")
    extra = next(iter(k for k in saved if k not in wanted))
    return f"the checkpoint has {extra}, which this config lacks"
