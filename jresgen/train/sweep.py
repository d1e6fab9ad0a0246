"""Sweeps: K variants of one experiment trained as one `jax.vmap`-ed, jitted step.

    config.sweep = {"learning_rate": (1e-3, 3e-4), "optimizer": {"b1": (0.9, 0.5)}}
    jresgen train ... --sweep learning_rate=1e-3,3e-4 --sweep optimizer.b1=0.9,0.5

trains the product of the values (here four variants) over a stacked state: every leaf of the
task's state gains a leading variant axis, and the step is the task's own step vmapped over it.

How a hyper-parameter becomes data. The task code reads its hyper-parameters from the config
at trace time. Each variant's values ride in the state (`SweepState.hparams`, [K] per key);
inside the vmapped step the config is copied with every swept key replaced by the variant's
traced scalar, and the state's optimizer (a static field, built from the config) is rebuilt
from that config, so learning rates, betas and loss weights are data. A key the program needs
as a Python value — a layer count, a branch such as `if config.x > 0` — cannot be traced; it
is named in one line before anything is trained.

Data. When the seed or a `data.` key is swept, each variant draws its own batches (the batch
gains a variant axis after the batch axis), so variant k sees exactly a single run's batches;
otherwise all variants share one batch per step.

Divergence. A variant whose metrics or state stop being finite is frozen at its last finite
state (`stopped_at` records the step) and the others go on; the run stops when all have.
"""
import itertools
import json
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
from flax import struct

from jresgen.errors import UserError

# Read by the loop itself, the same for every variant.
LOOP_KEYS = ("task", "total_steps", "batch_size", "log_every", "eval_every",
             "checkpoint_every", "keep_checkpoints", "parallelism", "prefetch_batches")
_NOT_TRACEABLE = (jax.errors.ConcretizationTypeError, jax.errors.TracerIntegerConversionError,
                  jax.errors.TracerArrayConversionError)


class SweepState(struct.PyTreeNode):
    """`variants`: the task's state with a leading [K] axis on every leaf; `hparams`: {dotted
    key: [K] values}; `stopped_at`: [K], the step at which a variant stopped being finite (0
    while it trains); `step`: the loop's step."""
    step: jax.Array
    variants: Any
    hparams: dict
    stopped_at: jax.Array


# --- the sweep section of a config -----------------------------------------------------------

def swept(config) -> dict[str, tuple]:
    """{dotted key: values} of `config.sweep` in the order written; {} for a single run."""
    section = config.get("sweep")
    return dict(_flatten(section.to_dict())) if section else {}


def _flatten(tree: dict, prefix: str = ""):
    for key, value in tree.items():
        if isinstance(value, dict):
            yield from _flatten(value, f"{prefix}{key}.")
        else:
            yield f"{prefix}{key}", tuple(value) if isinstance(value, (list, tuple)) else (value,)


def add_sweep_args(config, items) -> None:
    """Applies `--sweep KEY=v1,v2,...` strings to `config.sweep` (each value parsed like the
    key's current value)."""
    from jresgen.config import _parse_like

    for item in items:
        key, sep, raw = item.partition("=")
        if not sep or not raw:
            raise UserError(f"--sweep {item!r} is not of the form KEY=v1,v2,...")
        current = _lookup(config, key)
        values = tuple(_parse_like(current, v.strip(), key) for v in raw.split(","))
        if "sweep" not in config:
            config.sweep = ml_collections.ConfigDict()
        node = config.sweep
        *parents, leaf = key.split(".")
        for part in parents:
            if part not in node:
                node[part] = ml_collections.ConfigDict()
            node = node[part]
        node[leaf] = values


def _lookup(config, key: str):
    node = config
    for part in key.split("."):
        if not isinstance(node, ml_collections.ConfigDict) or part not in node:
            raise UserError(f"cannot sweep {key}: no such config key")
        node = node[part]
    return node


def validate_sweep(config) -> None:
    """One line for a sweep that cannot run: unknown keys, non-numbers, loop keys, no values."""
    for key, values in swept(config).items():
        current = _lookup(config, key)
        if key in LOOP_KEYS:
            raise UserError(f"cannot sweep {key}: the training loop reads it, so all variants "
                            f"share it")
        if isinstance(current, bool) or not isinstance(current, (int, float)):
            raise UserError(f"cannot sweep {key}: only numbers can be swept (it holds a "
                            f"{type(current).__name__})")
        if not values:
            raise UserError(f"sweep over {key} has no values")
        for v in values:
            if isinstance(v, bool) or not isinstance(v, (int, float)):
                raise UserError(f"sweep over {key}: {v!r} is not a number")
    if swept(config) and config.optimizer.get("accumulate_steps", 1) > 1:
        raise UserError("a sweep cannot accumulate gradients (optimizer.accumulate_steps > 1): "
                        "sweep variants share one micro-batch schedule; run them separately")


def variant_values(config) -> list[dict]:
    """[{key: value}] for each variant: the product of the swept values, last key fastest."""
    keys = swept(config)
    return [dict(zip(keys, combo)) for combo in itertools.product(*keys.values())]


def _with_values(config, values: dict, type_safe: bool = True) -> ml_collections.ConfigDict:
    out = ml_collections.ConfigDict(config.to_dict(), type_safe=type_safe)
    if "sweep" in out:
        del out["sweep"]
    for key, value in values.items():
        *parents, leaf = key.split(".")
        node = out
        for part in parents:
            node = node[part]
        node[leaf] = type(node[leaf])(value) if type_safe else value
    return out


def variant_config(config, values: dict) -> ml_collections.ConfigDict:
    """The single-run config of one variant (no sweep section)."""
    return _with_values(config, values)


def traced_config(config, hparams: dict) -> ml_collections.ConfigDict:
    """The config with each swept key holding a (traced) array: what the step sees."""
    return _with_values(config, hparams, type_safe=False)


def data_varies(config) -> bool:
    """Whether variants draw their own batches: the seed or a data key is swept."""
    return any(k == "seed" or k.startswith("data.") for k in swept(config))


def hparam_arrays(config) -> dict[str, np.ndarray]:
    """{key: [K] values} with each key's dtype (int32 keys such as the seed, float32 else)."""
    values = variant_values(config)
    out = {}
    for key in swept(config):
        integer = isinstance(_lookup(config, key), int)
        out[key] = np.array([v[key] for v in values], np.int32 if integer else np.float32)
    return out


def vmap_size(config, num: int) -> int:
    """How many variants one vmapped call computes; groups of that many are unrolled in the
    same program (`_grouped_vmap`). `sweep_vmap_size` 0 (the default) means all of them on an
    accelerator and one at a time on a CPU: vmapping a convolution over variants' weights
    makes it a grouped convolution, which XLA:CPU runs slower than the K convolutions apart
    (README.md, "Sweeps")."""
    size = config.get("sweep_vmap_size", 0)  # 0 on older work directories' configs
    if not isinstance(size, int) or size < 0:
        raise UserError(f"config key sweep_vmap_size must be a non-negative integer, got "
                        f"{size!r}")
    if size == 0:
        size = 1 if jax.default_backend() == "cpu" else num
    return min(size, num)


def describe(values: dict) -> str:
    """'learning_rate=0.001 seed=3' for logs and directory listings."""
    return " ".join(f"{k}={v}" for k, v in values.items())


def variants_json(config) -> str:
    return json.dumps([{"variant": k, "sweep": v} for k, v in enumerate(variant_values(config))],
                      indent=2) + "\n"


# --- the stacked state and the vmapped step ---------------------------------------------------

def retie(template_state, leaves_from):
    """`leaves_from`'s arrays in `template_state`'s structure, static fields (the optimizer)
    included: how a state built from one config takes another config's optimizer."""
    leaves = jax.tree.leaves(leaves_from)
    treedef = jax.tree.structure(template_state)
    if treedef.num_leaves != len(leaves):
        raise UserError("a swept value changes the state's structure; it cannot be swept")
    return jax.tree.unflatten(treedef, leaves)


class Sweep:
    """The sweep of `config` for task module `task`: builds the stacked state and the step."""

    def __init__(self, config, task):
        self.config, self.task = config, task
        self.values = variant_values(config)
        self.configs = [variant_config(config, v) for v in self.values]
        self.num = len(self.values)
        self.hparams = hparam_arrays(config)
        self.batch_axis = 1 if data_varies(config) else None
        self.vmap_size = vmap_size(config, self.num)

    def _initial(self, example, rng, hparams, make_state):
        """The task's initial state under the traced config, with the base config's static
        fields (nothing traced may leave the function in them)."""
        state = make_state(traced_config(self.config, hparams), self.task, example, rng)
        return retie(self._base_template(example, make_state), state)

    def _base_template(self, example, make_state):
        return jax.eval_shape(lambda rng: make_state(self.configs[0], self.task, example, rng),
                              jax.ShapeDtypeStruct((2,), jnp.uint32))

    def init_fn(self, example, make_state):
        """`init(keys [K, 2], hparams) -> SweepState`, for `strategy.init`."""
        def init(keys, hparams):
            variants = jax.vmap(lambda rng, h: self._initial(example, rng, h, make_state))(
                keys, hparams)
            return SweepState(step=jnp.zeros((), jnp.int32), variants=variants,
                              hparams=hparams, stopped_at=jnp.zeros((self.num,), jnp.int32))
        return init

    def init_args(self):
        keys = jnp.stack([jax.random.PRNGKey(c.seed) for c in self.configs])
        return keys, {k: jnp.asarray(v) for k, v in self.hparams.items()}

    def step_fn(self, example, make_state, axis_name):
        """`step(sweep_state, batch) -> (sweep_state, metrics)`; metrics are [K] per name, NaN
        for a variant that has stopped."""
        task, config = self.task, self.config

        def one(state, batch, hparams):
            cfg = traced_config(config, hparams)
            # The optimizer of this variant's config (its learning rate is data): the
            # template is only traced for its structure, XLA never computes it.
            traced_template = jax.eval_shape(
                lambda rng: make_state(cfg, task, example, rng),
                jax.ShapeDtypeStruct((2,), jnp.uint32))
            new, metrics = task.train_step(retie(traced_template, state), batch, config=cfg,
                                           axis_name=axis_name)
            finite = all_finite(new) & all_finite(metrics)
            return retie(state, new), metrics, finite

        def step(sstate, batch):
            if self.batch_axis is None:
                new, metrics, finite = _grouped_vmap(lambda st, h: one(st, batch, h),
                                                     (sstate.variants, sstate.hparams),
                                                     self.vmap_size)
            else:  # each variant's batch on axis 1 (axis 0 is the batch, split over devices)
                new, metrics, finite = _grouped_vmap(
                    one, (sstate.variants, _swap01(batch), sstate.hparams), self.vmap_size)
            keep = (sstate.stopped_at == 0) & finite
            variants = jax.tree.map(lambda n, o: jnp.where(_expand(keep, n), n, o),
                                    new, sstate.variants)
            step = sstate.step + 1
            stopped_at = jnp.where((sstate.stopped_at == 0) & ~finite, step, sstate.stopped_at)
            metrics = {k: jnp.where(keep, v, jnp.nan) for k, v in metrics.items()}
            return sstate.replace(step=step, variants=variants, stopped_at=stopped_at), metrics
        return step

    def check_traceable(self, example, make_state, axis_name=None) -> None:
        """One line naming the swept keys the step needs as Python values, before training."""
        if self._traces(example, make_state, list(self.hparams)):
            return
        bad = [key for key in self.hparams if not self._traces(example, make_state, [key])]
        if bad:
            raise UserError(f"cannot sweep {', '.join(bad)}: the program uses "
                            f"{'it' if len(bad) == 1 else 'them'} as Python values (a shape, a "
                            f"layer count or a branch), not as data; run separate trainings")

    def _traces(self, example, make_state, keys) -> bool:
        """Whether init and step trace with only `keys` as data (the others at their base
        values)."""
        hparams = {k: jnp.asarray(v) for k, v in self.hparams.items() if k in keys}
        rngs = jax.ShapeDtypeStruct((self.num, 2), jnp.uint32)
        batch = _batch_struct(example, self.num if self.batch_axis else None)
        try:
            state = jax.eval_shape(self.init_fn(example, make_state), rngs, hparams)
            jax.eval_shape(self.step_fn(example, make_state, None), state, batch)
        except _NOT_TRACEABLE:
            return False
        return True

    # --- host side ---

    def batches(self, sources, step, rows=None):
        """The step's batch (or its `rows`, jresgen/data/rows.py): one shared, or the
        variants' stacked on axis 1."""
        if self.batch_axis is None:
            return sources[0].batch(step, rows)
        each = [s.batch(step, rows) for s in sources]
        return {k: np.stack([b[k] for b in each], axis=1) for k in each[0]}

    def variant_state(self, sstate, k: int, template):
        """Variant k of a (one-device) SweepState in `template`'s structure."""
        return retie(template, jax.tree.map(lambda x: x[k], sstate.variants))


def all_finite(tree):
    """Whether every floating-point value in `tree` is finite (one reduction per leaf)."""
    flags = [jnp.all(jnp.isfinite(x)) for x in jax.tree.leaves(tree)
             if jnp.issubdtype(x.dtype, jnp.inexact)]
    return jnp.all(jnp.stack(flags)) if flags else jnp.bool_(True)


def _expand(flag, like):
    return jnp.reshape(flag, flag.shape + (1,) * (like.ndim - flag.ndim))


def _grouped_vmap(fn, args, size: int):
    """`jax.vmap(fn)(*args)` computed `size` variants at a time, the groups unrolled in the
    program and their results concatenated. Not `jax.lax.map`: XLA:CPU runs a convolution
    inside a loop body some 70x slower than the same convolution outside one."""
    num = jax.tree.leaves(args)[0].shape[0]
    if size >= num:
        return jax.vmap(fn)(*args)
    parts = [jax.vmap(fn)(*jax.tree.map(lambda x: x[i:i + size], args))
             for i in range(0, num, size)]
    return jax.tree.map(lambda *xs: jnp.concatenate(xs), *parts)


def _swap01(batch):
    return jax.tree.map(lambda x: jnp.swapaxes(x, 0, 1), batch)


def _batch_struct(example, num):
    def leaf(x):
        shape = x.shape if num is None else (x.shape[0], num, *x.shape[1:])
        return jax.ShapeDtypeStruct(shape, x.dtype)
    return jax.tree.map(leaf, example)
