"""The family-agnostic training loop and the work directory.

WORKDIR/
  config.json        the resolved config (a rerun resumes with it)
  checkpoints/       orbax, one directory per saved step
  metrics.jsonl      one JSON object per logged step: step, loss, ... , steps_per_sec
  tensorboard/       TensorBoard event files
  samples/           PNGs written at each evaluation
"""
import functools
import json
import math
import signal
import time
from pathlib import Path

import jax

from jresgen import data as datasets
from jresgen.config import config_from_json
from jresgen.data.image_io import write_image
from jresgen.errors import UserError
from jresgen.tasks import get_task
from jresgen.train.checkpoint import Checkpointer
from jresgen.train.optim import make_optimizer
from jresgen.train.parallel import check_batch_size, make_strategy
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


def _initial_state(config, task, sample_batch):
    rng = jax.random.PRNGKey(config.seed)
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


def train_and_evaluate(config, workdir) -> dict:
    """Trains `config` in `workdir`, resuming from its latest checkpoint; returns the final
    evaluation summary."""
    workdir = Path(workdir)
    task = get_task(config.task)
    strategy = make_strategy(config.parallelism)
    check_batch_size(config.batch_size, strategy.num_devices)
    train_source, eval_data = datasets.build(config)
    eval_data = _with_scorer(config, eval_data)
    workdir.mkdir(parents=True, exist_ok=True)
    _check_workdir_config(workdir, config)

    ckpt = Checkpointer(workdir / "checkpoints", max_to_keep=config.keep_checkpoints)
    state = _initial_state(config, task, train_source.batch(0))
    start = 0
    if ckpt.latest_step() is not None:
        state, _ = ckpt.restore(state)
        start = int(state.step)
    # Written once the config is known to fit the checkpoints, so a rejected config never
    # replaces the one a resume without --config relies on.
    (workdir / "config.json").write_text(config.to_json_best_effort(indent=2) + "\n")
    writer = MetricWriter(workdir)
    writer.truncate_after(start)
    step_fn = strategy.compile(functools.partial(task.train_step, config=config,
                                                 axis_name=strategy.axis_name))
    _, schedule = make_optimizer(config.optimizer, config.learning_rate, config.total_steps)
    dstate = strategy.replicate(state)
    progress = Progress(start, config.total_steps)
    if start:
        progress.write(f"resuming {workdir} from step {start}")

    stop = _StopRequest()
    summary, step = None, start
    t_log, step_log = time.perf_counter(), start
    completed = False
    try:
        while step < config.total_steps and not stop.requested:
            dstate, metrics = step_fn(dstate, strategy.shard(train_source.batch(step)))
            step += 1
            progress.tick(step)
            is_log = step % config.log_every == 0 or step == config.total_steps
            is_eval = (config.eval_every and step % config.eval_every == 0) \
                or step == config.total_steps
            if is_log or is_eval:
                record = {k: float(v) for k, v in jax.device_get(metrics).items()}
                now = time.perf_counter()
                record["steps_per_sec"] = (step - step_log) / (now - t_log)
                if not any(k.startswith("learning_rate") for k in record):
                    record["learning_rate"] = float(schedule(step - 1))
                _stop_if_not_finite(step, record)
                if is_eval:
                    summary, images = task.evaluate(config, strategy.unreplicate(dstate),
                                                    eval_data)
                    headline = task.eval_headline(summary)
                    record.update(headline)
                    for name, image in images.items():
                        write_image(workdir / "samples" / f"{name}.png", image)
                    progress.write(f"step {step} evaluation: " +
                                   " ".join(f"{k}={v:.4f}" for k, v in headline.items()))
                writer.write(step, record)
                progress.update(step, record)
                t_log, step_log = time.perf_counter(), step
            if config.checkpoint_every and step % config.checkpoint_every == 0:
                ckpt.save(step, strategy.unreplicate(dstate), {"step": step})
        completed = True
    finally:
        stop.restore()
        # Save on completion or a requested stop, never after an error (e.g. a NaN): the last
        # good checkpoint must stay the latest one.
        if completed and step > start and ckpt.latest_step() != step:
            ckpt.save(step, strategy.unreplicate(dstate), {"step": step})
        ckpt.close()
        writer.close()
        progress.close()
    if stop.requested:
        raise KeyboardInterrupt(f"interrupted at step {step}; checkpoint saved, rerun to resume")
    return summary


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


def load_workdir(workdir):
    """(config, task, host state, eval data) of the latest checkpoint in `workdir`."""
    workdir = Path(workdir)
    saved = workdir / "config.json"
    if not saved.exists():
        raise UserError(f"{workdir} is not a jresgen work directory (no config.json)")
    config = config_from_json(saved.read_text())
    task = get_task(config.task)
    train_source, eval_data = datasets.build(config)
    eval_data = _with_scorer(config, eval_data, lazy=True)
    ckpt = Checkpointer(workdir / "checkpoints", create=False)
    try:
        state, _ = ckpt.restore(abstract_state(config, task, train_source.batch(0)))
    finally:
        ckpt.close()
    return config, task, jax.device_put(state), eval_data


def evaluate_workdir(workdir) -> dict:
    """The evaluation summary of the latest checkpoint, with its step."""
    config, task, state, eval_data = load_workdir(workdir)
    summary, _ = task.evaluate(config, state, eval_data)
    return {"step": int(state.step), **summary}
