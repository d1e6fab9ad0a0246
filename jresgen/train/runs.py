"""What the training loop trains: one run of a config, or a sweep of its variants.

Both give the loop the same few things — data, the initial (or abstract) state, the step,
per-variant metric records and evaluations — so the loop has one path. A single run is the
state the task builds; a sweep is a `SweepState` of K stacked variants (jresgen/train/sweep.py)
whose metrics, samples and TensorBoard events go to `WORKDIR/variants/K/`.
"""
import functools
import json
import warnings
from pathlib import Path

import jax
import numpy as np

from jresgen import data as datasets
from jresgen.errors import UserError
from jresgen.train import sweep as sweeps
from jresgen.train.optim import make_optimizer
from jresgen.train.parallel import process_slice
from jresgen.train.writer import MetricWriter

VARIANTS_DIR = "variants"
VARIANTS_FILE = "variants.json"  # [{"variant": k, "sweep": {key: value}}], for people and tools


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


def initial_state(config, task, sample_batch, rng=None):
    rng = jax.random.PRNGKey(config.seed) if rng is None else rng
    return task.init_state(config, rng, sample_batch, optimizer_factory(config))


def abstract_state(config, task, sample_batch):
    """The state's structure, shapes and dtypes, computed without allocating it."""
    return jax.eval_shape(lambda: initial_state(config, task, sample_batch))


def with_scorer(config, eval_data, lazy=False):
    """eval_data with `"scorer"`, the FID/KID scorer of `config.evaluation` (built once per
    process; jresgen/train/scoring.py), when the config names a classifier. Lazy: built at the
    first score, so `sample` works without the classifier."""
    from jresgen.train.scoring import lazy_scorer, make_scorer
    scorer = (lazy_scorer if lazy else make_scorer)(config)
    return eval_data if scorer is None else {**eval_data, "scorer": scorer}


def example_of(source) -> dict[str, np.ndarray]:
    """A batch with the global batch's shapes and dtypes and step 0's first sample's values in
    every row: initialisation looks at one sample and everything else at shapes, so each
    process builds one sample at start instead of the whole global batch (with several hosts,
    every process would otherwise decode all of it). Row 0 is the real batch's row 0 bit for
    bit (jresgen/data/rows.py), so the initial state is the same."""
    first = source.batch(0, range(1))
    return {k: np.broadcast_to(v, (source.batch_size,) + v.shape[1:]) for k, v in first.items()}


def make_run(config, task):
    return SweepRun(config, task) if sweeps.swept(config) else SingleRun(config, task)


class SingleRun:
    """One experiment: the task's own state and one metrics stream in the work directory."""

    def __init__(self, config, task):
        self.config, self.task = config, task
        self.configs = [config]
        self.sources = self.eval_data = None

    def build_data(self, lazy_scorer: bool = False, train: bool = True) -> None:
        source, eval_data = datasets.build(self.config)
        self.sources = [source] if train else None
        self.eval_data = [with_scorer(self.config, eval_data, lazy_scorer)]

    def example(self):
        return example_of(self.sources[0])

    def batch(self, step: int):
        """This process's rows of step's global batch (`process_slice`; all of them when one
        process), built alone: what `strategy.shard_local` takes."""
        return self.sources[0].batch(step, self.rows())

    def rows(self):
        return process_slice(self.sources[0].batch_size)

    def check(self, example) -> None:
        pass

    def abstract_state(self, example):
        return abstract_state(self.config, self.task, example)

    def init(self, strategy, example):
        """The initial state, born in the strategy's placement."""
        return strategy.init(lambda rng: initial_state(self.config, self.task, example, rng),
                             jax.random.PRNGKey(self.config.seed))

    def step_fn(self, example, axis_name):
        return functools.partial(self.task.train_step, config=self.config, axis_name=axis_name)

    def write_files(self, workdir: Path) -> None:
        pass

    def writers(self, workdir: Path) -> list[MetricWriter]:
        return [MetricWriter(workdir)]

    def samples_dir(self, workdir: Path, k: int) -> Path:
        return workdir / "samples"

    def records(self, window: dict[str, np.ndarray]) -> list[dict | None]:
        """This log window's record per variant: {name: mean over the window}."""
        return [{k: float(np.mean(v)) for k, v in window.items()}]

    def newly_stopped(self, dstate) -> list[tuple[int, int]]:
        return []

    def variant_states(self, local_state, example) -> list:
        return [local_state]

    def label(self, k: int) -> str:
        return ""

    def summary(self, step: int, summaries: list[dict]) -> dict:
        return {"step": step, **summaries[0]}


class SweepRun(SingleRun):
    """K variants in one program; variant k's metrics, samples and TensorBoard events in
    `WORKDIR/variants/k/`."""

    def __init__(self, config, task):
        super().__init__(config, task)
        self.sweep = sweeps.Sweep(config, task)
        self.configs = self.sweep.configs
        self._stopped: dict[int, int] = {}  # variant -> step, reported once
        self._templates = {}

    def build_data(self, lazy_scorer: bool = False, train: bool = True) -> None:
        # Variants draw their own data only when a data key (or the seed) is swept.
        own = self.configs if self.sweep.batch_axis is not None else self.configs[:1]
        built = [datasets.build(c) for c in own]
        self.sources = [s for s, _ in built] if train else None
        eval_data = [with_scorer(c, e, lazy_scorer) for c, (_, e) in zip(own, built)]
        self.eval_data = eval_data * (len(self.configs) // len(eval_data))

    def batch(self, step: int):
        return self.sweep.batches(self.sources, step, self.rows())

    def check(self, example) -> None:
        shapes = {tuple((k, v.shape) for k, v in s.batch(0).items()) for s in self.sources}
        if len(shapes) > 1:
            raise UserError("the swept values give the variants batches of different shapes "
                            "(e.g. a patch size); only values that keep the shapes can be swept")
        self.sweep.check_traceable(example, initial_state)

    def abstract_state(self, example):
        rngs = jax.ShapeDtypeStruct((self.sweep.num, 2), np.uint32)
        return jax.eval_shape(self.sweep.init_fn(example, initial_state), rngs,
                              {k: jax.ShapeDtypeStruct(v.shape, v.dtype)
                               for k, v in self.sweep.hparams.items()})

    def init(self, strategy, example):
        return strategy.init(self.sweep.init_fn(example, initial_state),
                             *self.sweep.init_args())

    def step_fn(self, example, axis_name):
        return self.sweep.step_fn(example, initial_state, axis_name)

    def write_files(self, workdir: Path) -> None:
        (workdir / VARIANTS_FILE).write_text(sweeps.variants_json(self.config))

    def writers(self, workdir: Path) -> list[MetricWriter]:
        return [MetricWriter(workdir / VARIANTS_DIR / str(k)) for k in range(self.sweep.num)]

    def samples_dir(self, workdir: Path, k: int) -> Path:
        return workdir / VARIANTS_DIR / str(k) / "samples"

    def records(self, window):
        """Per variant: means over the window's finite steps (a variant's metrics are NaN from
        the step it stopped); None for a variant stopped before the window."""
        out = []
        for k in range(self.sweep.num):
            column = {name: v[:, k] for name, v in window.items()}
            if all(np.isnan(v).all() for v in column.values()):
                out.append(None)
                continue
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)  # an all-NaN metric
                out.append({name: float(np.nanmean(v)) for name, v in column.items()})
        return out

    def newly_stopped(self, dstate) -> list[tuple[int, int]]:
        """[(variant, step)] of the variants that stopped since the last call."""
        stopped = np.asarray(jax.device_get(dstate.stopped_at)).reshape(-1, self.sweep.num)[0]
        new = [(k, int(s)) for k, s in enumerate(stopped) if s and k not in self._stopped]
        self._stopped.update(new)
        return new

    @property
    def all_stopped(self) -> bool:
        return len(self._stopped) == self.sweep.num

    def variant_states(self, local_state, example) -> list:
        """Each variant's state (one device), in the structure of its own config's state."""
        out = []
        for k, config in enumerate(self.configs):
            if k not in self._templates:
                self._templates[k] = abstract_state(config, self.task, example)
            out.append(self.sweep.variant_state(local_state, k, self._templates[k]))
        return out

    def label(self, k: int) -> str:
        return f"variant {k} ({sweeps.describe(self.sweep.values[k])})"

    def summary(self, step: int, summaries: list[dict]) -> dict:
        return {"step": step, "variants": [{"sweep": values, **s} for values, s
                                           in zip(self.sweep.values, summaries)]}


def read_variants(workdir: Path) -> list[dict] | None:
    path = Path(workdir) / VARIANTS_FILE
    return json.loads(path.read_text()) if path.exists() else None
