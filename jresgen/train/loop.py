"""The family-agnostic training loop and the work directory.

WORKDIR/
  config.json        the resolved config (a rerun resumes with it)
  checkpoints/       orbax, one directory per saved step
  metrics.jsonl      one JSON object per logged step: step, loss, ... , steps_per_sec
  tensorboard/       TensorBoard event files
  samples/           PNGs written at each evaluation
  batch_spec.json    the train batch's shapes, so eval/upscale/sample need not build the data
  damaged_checkpoints/  checkpoints found damaged on resume, moved aside (kept for inspection)
"""
import contextlib
import functools
import json
import math
import signal
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jresgen import data as datasets
from jresgen.config import config_from_json
from jresgen.data.image_io import write_image
from jresgen.errors import UserError
from jresgen.tasks import get_task
from jresgen.train.checkpoint import Checkpointer, DamagedCheckpoint
from jresgen.train.optim import make_optimizer
from jresgen.train.parallel import check_batch_size, make_strategy
from jresgen.train.profiling import StepProfiler
from jresgen.train.progress import Progress
from jresgen.train.writer import MetricWriter


def optimizer_factory(config):
    """`make_tx(section=None, learning_rate=None, total_steps=None) -> (tx, schedule)`: the
    optimizer of `config.optimizer` by default; families with several networks (a GAN's G and
    D) pass their own section, learning rate and number of updates (D updates n_dis times per
    step)."""
    def make_tx(section=None, learning_rate=None, total_steps=None):
        return make_optimizer(config.optimizer if section is None else section,
                              config.learning_rate if learning_rate is None else learning_rate,
                              config.total_steps if total_steps is None else total_steps)
    return make_tx


def _initial_state(config, task, sample_batch, rng=None):
    rng = jax.random.PRNGKey(config.seed) if rng is None else rng
    return task.init_state(config, rng, sample_batch, optimizer_factory(config))


def abstract_state(config, task, sample_batch):
    """The state's structure, shapes and dtypes, computed without allocating it."""
    return jax.eval_shape(lambda: _initial_state(config, task, sample_batch))


def _with_scorer(config, eval_data, lazy=False):
    """eval_data with `"scorer"`, the FID/KID scorer of `config.evaluation` (built once per
    process; jresgen/train/scoring.py), when the config names a classifier. Lazy: built at the
    first score, so `sample` works without the classifier."""
    from jresgen.train.scoring import lazy_scorer, make_scorer
    scorer = (lazy_scorer if lazy else make_scorer)(config)
    return eval_data if scorer is None else {**eval_data, "scorer": scorer}


def _check_workdir_config(workdir: Path, config) -> None:
    saved = workdir / "config.json"
    if saved.exists():
        previous = json.loads(saved.read_text())
        if previous.get("task") != config.task:
            raise UserError(f"{workdir} holds a {previous.get('task')!r} run; "
                            f"this config trains {config.task!r}: use another --workdir")


def train_and_evaluate(config, workdir, profile: tuple[int, int] | None = None) -> dict | None:
    """Trains `config` in `workdir`, resuming from its newest intact checkpoint; returns the
    final evaluation summary (None when the run had already finished). `profile` (START,
    STOP): a jax.profiler trace of the steps from START to STOP (jresgen/train/profiling.py)."""
    workdir = Path(workdir)
    task = get_task(config.task)
    strategy = make_strategy(config.parallelism)
    check_batch_size(config.batch_size, strategy.num_devices)
    train_source, eval_data = datasets.build(config)
    eval_data = _with_scorer(config, eval_data)
    workdir.mkdir(parents=True, exist_ok=True)
    _check_workdir_config(workdir, config)

    ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=config.keep_checkpoints)
    writer = progress = stop = profiler = None
    try:
        example = train_source.batch(0)
        start = 0
        if ckpt.all_steps():
            state, _, start = ckpt.restore_latest(
                abstract_state(config, task, example), strategy.restore_sharding, warn=_warn,
                set_aside=workdir / "damaged_checkpoints")
            dstate = strategy.place(state)
            del state
        else:  # born in the strategy's placement: no host copy, no second copy
            dstate = strategy.init(lambda rng: _initial_state(config, task, example, rng),
                                   jax.random.PRNGKey(config.seed))
        # Written once the config is known to fit the checkpoints, so a rejected config never
        # replaces the one a resume without --config relies on.
        (workdir / "config.json").write_text(config.to_json_best_effort(indent=2) + "\n")
        _write_batch_spec(workdir, example)
        if start >= config.total_steps:
            _warn(f"{workdir} is already at step {start} (total_steps {config.total_steps}); "
                  f"nothing to train: raise total_steps to train longer", prefix="")
            return None

        writer = MetricWriter(workdir)
        writer.truncate_after(start)
        step_fn = strategy.compile(functools.partial(task.train_step, config=config,
                                                     axis_name=strategy.axis_name))
        _, schedule = make_optimizer(config.optimizer, config.learning_rate, config.total_steps)
        progress = Progress(start, config.total_steps)
        if start:
            progress.write(f"resuming {workdir} from step {start}")
        stop = _StopRequest()
        summary, step = None, start
        profiler = StepProfiler(profile, workdir, start, lambda line: progress.write(
            f"jresgen: {line}"))
        window, clock = [], _WindowClock()  # this log window's metrics, still on the devices
        batch = strategy.shard(train_source.batch(step))
        while step < config.total_steps and not stop.requested:
            profiler.before_step(step)
            dstate, metrics = step_fn(dstate, batch)
            step += 1
            profiler.after_step(step, (dstate, metrics))
            window.append(metrics)
            if step < config.total_steps:  # built and sent while the step runs
                batch = strategy.shard(train_source.batch(step))
            progress.tick(step)
            if step == start + 1:  # the first step compiles: time the window from its end
                clock.start_after(metrics, step)
            is_log = step % config.log_every == 0 or step == config.total_steps
            is_eval = (config.eval_every and step % config.eval_every == 0) \
                or step == config.total_steps
            if is_log or is_eval:
                record = _window_means(strategy, window)
                window = []
                rate = clock.steps_per_sec(step)
                if rate is not None:
                    record["steps_per_sec"] = rate
                if not any(k.startswith("learning_rate") for k in record):
                    record["learning_rate"] = float(schedule(step - 1))
                _stop_if_not_finite(step, record)
                if is_eval:
                    with clock.paused():
                        summary, images = task.evaluate(config, strategy.local_state(dstate),
                                                        eval_data)
                        headline = task.eval_headline(summary)
                        record.update(headline)
                        for name, image in images.items():
                            write_image(workdir / "samples" / f"{name}.png", image)
                    progress.write(f"step {step} evaluation: " +
                                   " ".join(f"{k}={v:.4f}" for k, v in headline.items()))
                writer.write(step, record)
                progress.update(step, record)
                ckpt.poll()
                clock.restart(step)
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                with clock.paused():
                    _save_if_finite(ckpt, strategy, step, dstate)
        # Saved on completion or a requested stop, never after an error (e.g. a NaN): the last
        # good checkpoint must stay the latest one.
        if step > start and ckpt.latest_step() != step:
            _save_if_finite(ckpt, strategy, step, dstate)
    finally:
        if profiler is not None:
            profiler.close(step)
        if stop is not None:
            stop.restore()
        ckpt.close()
        for closing in (writer, progress):
            if closing is not None:
                closing.close()
    if stop.requested:
        raise KeyboardInterrupt(f"interrupted at step {step}; checkpoint saved, rerun to resume")
    return summary


def _warn(line: str, prefix: str = "warning: ") -> None:
    print(f"jresgen: {prefix}{line}", file=sys.stderr, flush=True)


def _window_means(strategy, window) -> dict:
    """{name: mean over the window's steps}; one transfer from the devices for the window."""
    steps = [strategy.metrics_to_host(m) for m in jax.device_get(window)]
    return {k: float(np.mean([m[k] for m in steps])) for k in steps[0]}


@jax.jit
def _all_finite(state):
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(state)
             if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def _save_if_finite(ckpt, strategy, step, dstate) -> None:
    """Checkpoints the state unless one of its values is not finite (then stops the run, the
    last good checkpoint staying the latest). The check is one reduction over the state."""
    if not bool(_all_finite(dstate)):
        raise FloatingPointError(f"step {step}: the state is not finite; stopping "
                                 f"(the last checkpoint is kept)")
    ckpt.save(step, strategy.for_checkpoint(dstate), {"step": step})


class _WindowClock:
    """Seconds per logged window of steps, without the first step's compilation and without
    the time spent in evaluation and checkpoints."""

    def __init__(self):
        self.t0 = self.from_step = None
        self.paused_s = 0.0

    def start_after(self, metrics, step):
        jax.block_until_ready(metrics)
        self.restart(step)

    def restart(self, step):
        self.t0, self.from_step, self.paused_s = time.perf_counter(), step, 0.0

    def steps_per_sec(self, step):
        if self.t0 is None or step <= self.from_step:
            return None
        elapsed = time.perf_counter() - self.t0 - self.paused_s
        return (step - self.from_step) / elapsed if elapsed > 0 else None

    @contextlib.contextmanager
    def paused(self):
        t = time.perf_counter()
        try:
            yield
        finally:
            self.paused_s += time.perf_counter() - t


def _stop_if_not_finite(step: int, record: dict) -> None:
    bad = [k for k, v in record.items() if not math.isfinite(v)]
    if bad:
        raise FloatingPointError(f"step {step}: {', '.join(bad)} not finite; stopping "
                                 f"(the last checkpoint is kept)")


class _StopRequest:
    """First Ctrl-C asks the loop to stop after the current step and save; a second one
    interrupts at once (the last complete checkpoint stays intact)."""

    def __init__(self):
        self.requested = False
        self._previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._previous = None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def restore(self):
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


BATCH_SPEC = "batch_spec.json"  # the train batch's shapes: eval/upscale/sample need no dataset


def _write_batch_spec(workdir: Path, batch) -> None:
    if isinstance(batch, dict) and all(hasattr(v, "shape") for v in batch.values()):
        spec = {k: [list(v.shape), str(v.dtype)] for k, v in batch.items()}
        (workdir / BATCH_SPEC).write_text(json.dumps(spec) + "\n")


def example_batch(config, workdir: Path):
    """A batch with the train batch's shapes and dtypes, for `abstract_state`: zeros that take
    no memory, from the work directory's batch spec when it has one (no dataset is built),
    else the train source's first batch."""
    spec = workdir / BATCH_SPEC
    if spec.exists():
        return {k: np.broadcast_to(np.zeros((), dtype), shape)
                for k, (shape, dtype) in json.loads(spec.read_text()).items()}
    return datasets.build(config)[0].batch(0)


def load_workdir(workdir, *, step: int | None = None, with_eval_data: bool = True):
    """(config, task, state, eval data) of the newest intact checkpoint in `workdir`, or of
    checkpoint `step`; the state's arrays are on the first device (no host copy). Without
    `with_eval_data` no dataset is built (eval data is None)."""
    workdir = Path(workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise UserError(f"{workdir} is not a jresgen work directory (no config.json)")
    config = config_from_json(saved.read_text())
    task = get_task(config.task)
    eval_data = None
    if with_eval_data:
        _, eval_data = datasets.build(config)
        eval_data = _with_scorer(config, eval_data, lazy=True)
    ckpt = Checkpointer(workdir / "checkpoints", create=False)
    try:
        abstract = abstract_state(config, task, example_batch(config, workdir))
        if step is None:
            state, _, _ = ckpt.restore_latest(abstract, warn=_warn)
        else:
            state, _ = _restore_step(ckpt, abstract, step)
    finally:
        ckpt.close()
    return config, task, state, eval_data


def _restore_step(ckpt, abstract, step: int):
    steps = ckpt.all_steps()
    if step not in steps:
        raise UserError(f"no checkpoint {step} in {ckpt.directory} (it has "
                        f"{', '.join(map(str, steps)) or 'none'})")
    try:
        return ckpt.restore(abstract, step)
    except DamagedCheckpoint as e:
        raise UserError(f"checkpoint {step} in {ckpt.directory} is damaged ({e})") from e


def evaluate_workdir(workdir, *, step: int | None = None) -> dict:
    """The evaluation summary of the newest intact checkpoint (or of `step`), with its step."""
    config, task, state, eval_data = load_workdir(workdir, step=step)
    summary, _ = task.evaluate(config, state, eval_data)
    return {"step": int(state.step), **summary}
