"""The family-agnostic training loop and the work directory.

WORKDIR/
  config.json        the resolved config (a rerun resumes with it)
  checkpoints/       orbax, one directory per saved step
  metrics.jsonl      one JSON object per logged step: step, loss, ... , steps_per_sec
  tensorboard/       TensorBoard event files
  samples/           PNGs written at each evaluation
  batch_spec.json    the train batch's shapes, so eval/upscale/sample need not build the data
  damaged_checkpoints/  checkpoints found damaged on resume, moved aside (kept for inspection)
  variants.json, variants/K/  a sweep's variants, and each one's metrics, TensorBoard events
                     and samples (jresgen/train/runs.py)

Several processes (jresgen/train/distributed.py): all of them train and checkpoint (orbax,
collectively); process 0 alone writes the files above, prints progress and evaluates.
"""
import contextlib
import json
import math
import shutil
import signal
import sys
import time
from pathlib import Path

import jax
import numpy as np

from jresgen import data as datasets
from jresgen.config import config_from_json
from jresgen.data.image_io import write_image
from jresgen.errors import UserError
from jresgen.tasks import get_task
from jresgen.train.checkpoint import Checkpointer, DamagedCheckpoint
from jresgen.train.distributed import any_process, is_main
from jresgen.train.feed import device_batches, prefetch_depth
from jresgen.train.optim import make_optimizer
from jresgen.train.parallel import check_batch_size, make_strategy
from jresgen.train.profiling import StepProfiler
from jresgen.train.progress import Progress
from jresgen.train.runs import example_of, make_run
from jresgen.train.sweep import all_finite, swept


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
    STOP): a jax.profiler trace of the steps from START to STOP (jresgen/train/profiling.py).
    A config with a `sweep` section trains all its variants in one program
    (jresgen/train/sweep.py); the summary is then {"step", "variants": [...]}."""
    workdir = Path(workdir)
    task = get_task(config.task)
    main = is_main()  # the process that writes files, prints and evaluates
    profile = profile if main else None
    strategy = make_strategy(config.parallelism)
    check_batch_size(config.batch_size, strategy.num_devices)
    run = make_run(config, task)
    run.build_data()
    example = run.example()
    run.check(example)  # a sweep the program cannot take is refused before anything is written
    created = not workdir.exists()  # removed again if the run fails before writing into it
    workdir.mkdir(parents=True, exist_ok=True)
    _check_workdir_config(workdir, config)

    ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=config.keep_checkpoints)
    writers, progress, stop, profiler, batches = [], None, None, None, None
    wrote_config = False
    try:
        start = 0
        if ckpt.all_steps():
            state, _, start = ckpt.restore_latest(
                run.abstract_state(example), strategy.restore_sharding,
                warn=_warn if main else _quiet,
                set_aside=workdir / "damaged_checkpoints")
            dstate = strategy.place(state)
            del state
        else:  # born in the strategy's placement: no host copy, no second copy
            dstate = run.init(strategy, example)
        # Written once the config is known to fit the checkpoints, so a rejected config never
        # replaces the one a resume without --config relies on.
        if main:
            _write_config(workdir, config)
            _write_batch_spec(workdir, example)
            run.write_files(workdir)
        wrote_config = True
        if start >= config.total_steps:
            (_warn if main else _quiet)(f"{workdir} is already at step {start} (total_steps {config.total_steps}); "
                  f"nothing to train: raise total_steps to train longer", prefix="")
            return None

        writers = run.writers(workdir) if main else []
        for writer in writers:
            writer.truncate_after(start)
        step_fn = strategy.compile(run.step_fn(example, strategy.axis_name))
        schedules = [make_optimizer(c.optimizer, c.learning_rate, c.total_steps)[1]
                     for c in run.configs]
        progress = Progress(start, config.total_steps, quiet=not main)
        if start:
            progress.write(f"resuming {workdir} from step {start}")
        stop = _StopRequest()
        summary, step = None, start
        profiler = StepProfiler(profile, workdir, start, lambda line: progress.write(
            f"jresgen: {line}"))
        window, clock = [], _WindowClock()  # this log window's metrics, still on the devices
        batches = device_batches(run, strategy, start, config.total_steps,
                                 prefetch=prefetch_depth(config))
        batch = next(batches)
        while step < config.total_steps and not stop.requested:
            profiler.before_step(step)
            dstate, metrics = step_fn(dstate, batch)
            step += 1
            profiler.after_step(step, (dstate, metrics))
            window.append(metrics)
            batch = next(batches, None)  # the next step's, built and sent while this one runs
            progress.tick(step)
            if step == start + 1:  # the first step compiles: time the window from its end
                clock.start_after(metrics, step)
            is_log = step % config.log_every == 0 or step == config.total_steps
            is_eval = (config.eval_every and step % config.eval_every == 0) \
                or step == config.total_steps
            if is_log or is_eval:
                records = run.records(_window(strategy, window))
                window = []
                rate = clock.steps_per_sec(step)
                for record, schedule in zip(records, schedules):
                    if record is None:
                        continue
                    if rate is not None:
                        record["steps_per_sec"] = rate
                    if not any(k.startswith("learning_rate") for k in record):
                        record["learning_rate"] = float(schedule(step - 1))
                if len(records) == 1:
                    _stop_if_not_finite(step, records[0])
                else:
                    _report_stopped(run, dstate, step, progress)
                if is_eval and main:
                    with clock.paused():
                        summary = _evaluate(run, strategy, dstate, example, records, workdir,
                                            progress, step)
                for writer, record in zip(writers, records):
                    if record is not None:
                        writer.write(step, record)
                progress.update(step, _shown(records))
                ckpt.poll()
                stop.agree()
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
        if batches is not None:
            batches.close()
        ckpt.close()
        for closing in (*writers, progress):
            if closing is not None:
                closing.close()
        if created and not wrote_config and sys.exc_info()[0] is not None and main:
            # a config the task rejects at init (a UserError) leaves no empty work directory
            shutil.rmtree(workdir, ignore_errors=True)
    if stop.requested:
        raise KeyboardInterrupt(f"interrupted at step {step}; checkpoint saved, rerun to resume")
    return summary


def _evaluate(run, strategy, dstate, example, records, workdir, progress, step) -> dict:
    """Evaluates every variant, adds its headline figures to its record, writes its sample
    images; returns the run's summary."""
    summaries = []
    states = run.variant_states(strategy.local_state(dstate), example)
    for k, (config, state, eval_data) in enumerate(zip(run.configs, states, run.eval_data)):
        summary, images = run.task.evaluate(config, state, eval_data)
        summaries.append(summary)
        headline = run.task.eval_headline(summary)
        if records[k] is not None:
            records[k].update(headline)
        for name, image in images.items():
            write_image(run.samples_dir(workdir, k) / f"{name}.png", image)
        progress.write(f"step {step} evaluation{' of ' + run.label(k) if run.label(k) else ''}: "
                       + " ".join(f"{k}={v:.4f}" for k, v in headline.items()))
    return run.summary(step, summaries)


def _shown(records: list) -> dict:
    """What the progress line shows: the record, or for a sweep the mean over the variants
    still training."""
    live = [r for r in records if r is not None]
    if len(records) == 1 or not live:
        return live[0] if live else {}
    return {k: float(np.mean([r[k] for r in live if k in r])) for k in live[0]}


def _report_stopped(run, dstate, step: int, progress) -> None:
    """Names each variant that stopped being finite; stops the sweep when all have."""
    for k, at in run.newly_stopped(dstate):
        progress.write(f"jresgen: {run.label(k)} stopped at step {at}: not finite; its last "
                       f"finite state is kept and the other variants go on")
    if run.all_stopped:
        raise FloatingPointError(f"step {step}: every variant of the sweep stopped (not "
                                 f"finite); stopping (the last checkpoint is kept)")


def _warn(line: str, prefix: str = "warning: ") -> None:
    print(f"jresgen: {prefix}{line}", file=sys.stderr, flush=True)


def _quiet(line: str, prefix: str = "") -> None:
    """_warn of the processes other than 0: process 0 says it once."""


def _write_config(workdir: Path, config) -> None:
    # Renamed into place: the other processes may be reading it (_check_workdir_config).
    tmp = workdir / "config.json.tmp"
    tmp.write_text(config.to_json_best_effort(indent=2) + "\n")
    tmp.replace(workdir / "config.json")


def _window(strategy, window) -> dict[str, np.ndarray]:
    """{name: [steps, ...] values of replica 0}; one transfer from the devices per window."""
    steps = [strategy.first_replica(m) for m in jax.device_get(window)]
    return {k: np.stack([m[k] for m in steps]) for k in steps[0]}


_all_finite = jax.jit(all_finite)


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
    interrupts at once (the last complete checkpoint stays intact). Several processes: a
    request on any of them stops them all after the next log step, where they `agree`, so
    that all save the same step."""

    def __init__(self):
        self.requested = self._signalled = False
        self._together = jax.process_count() > 1
        self._previous = signal.getsignal(signal.SIGINT)
        try:
            signal.signal(signal.SIGINT, self._handle)
        except ValueError:  # not the main thread
            self._previous = None

    def _handle(self, signum, frame):
        if self._signalled:
            raise KeyboardInterrupt
        self._signalled = True
        self.requested = not self._together

    def agree(self):
        """Called by every process at every log step."""
        if self._together:
            self.requested = any_process(self._signalled)

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
    return example_of(datasets.build(config)[0])


def load_run(workdir, *, step: int | None = None, with_eval_data: bool = True):
    """(run, state) of the newest intact checkpoint in `workdir`, or of checkpoint `step`: the
    run (jresgen/train/runs.py) knows the config(s) and, `with_eval_data`, the evaluation data
    (else no dataset is built); the state's arrays are on the first device (no host copy)."""
    workdir = Path(workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise UserError(f"{workdir} is not a jresgen work directory (no config.json)")
    config = config_from_json(saved.read_text())
    run = make_run(config, get_task(config.task))
    if with_eval_data:
        run.build_data(lazy_scorer=True, train=False)
    ckpt = Checkpointer(workdir / "checkpoints", create=False)
    try:
        abstract = run.abstract_state(example_batch(config, workdir))
        if step is None:
            state, _, _ = ckpt.restore_latest(abstract, warn=_warn)
        else:
            state, _ = _restore_step(ckpt, abstract, step)
    finally:
        ckpt.close()
    return run, state


def load_workdir(workdir, *, step: int | None = None, with_eval_data: bool = True):
    """(config, task, state, eval data) of a single run's work directory (see `load_run`); a
    sweep's is refused with the command that exports one of its variants."""
    config_path = Path(workdir) / "config.json"
    if config_path.exists() and swept(config_from_json(config_path.read_text())):
        raise UserError(f"{workdir} holds a sweep; export one variant first: jresgen export "
                        f"--workdir {workdir} --variant K --out NEWDIR (variants listed in "
                        f"{Path(workdir) / 'variants.json'})")
    run, state = load_run(workdir, step=step, with_eval_data=with_eval_data)
    return run.config, run.task, state, run.eval_data[0] if with_eval_data else None


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
    """The evaluation summary of the newest intact checkpoint (or of `step`), with its step;
    for a sweep {"step", "variants": [{"sweep": {key: value}, ...summary}, ...]}."""
    run, summaries, step = evaluate_variants(workdir, step=step)
    return run.summary(step, summaries)


def evaluate_variants(workdir, *, step: int | None = None):
    """(run, [summary per variant], step) of the newest intact checkpoint (or of `step`)."""
    run, state = load_run(workdir, step=step)
    example = example_batch(run.config, Path(workdir))
    summaries = [run.task.evaluate(config, variant, eval_data)[0] for config, variant, eval_data
                 in zip(run.configs, run.variant_states(state, example), run.eval_data)]
    return run, summaries, int(state.step)
