"""Loading experiment configs (`configs/*.py` with `get_config(variant=None)`), applying
`--config.KEY=VALUE` overrides with type checking, and validating the shared keys."""
import ast
import importlib.util
import json
import sys
from pathlib import Path

import ml_collections

from jresgen.errors import UserError

# Every config has these top-level keys (DESIGN.md); families add their own inside sections.
REQUIRED_KEYS = ("task", "seed", "total_steps", "batch_size", "learning_rate", "log_every",
                 "eval_every", "checkpoint_every", "keep_checkpoints", "parallelism",
                 "model", "data", "optimizer")
PARALLELISM = ("pmap", "jit")


def load_config(spec: str, overrides: list[str] = ()) -> ml_collections.ConfigDict:
    """`spec` is `path/to/config.py` or `path/to/config.py:variant`."""
    path, _, variant = spec.partition(":")
    if not Path(path).is_file():
        raise UserError(f"config file not found: {path}")
    module_spec = importlib.util.spec_from_file_location(f"_jresgen_config_{Path(path).stem}", path)
    module = importlib.util.module_from_spec(module_spec)
    # Configs may import their siblings (`from common_sr import sr_config`), as variants
    # import a base in flax's examples.
    sys.path.insert(0, str(Path(path).resolve().parent))
    try:
        module_spec.loader.exec_module(module)
    except Exception as e:  # a broken config file is the user's: say where, in one line
        raise UserError(f"cannot load config {path}: {type(e).__name__}: {e}") from e
    finally:
        sys.path.pop(0)
    if not hasattr(module, "get_config"):
        raise UserError(f"config {path} has no get_config() function")
    try:
        config = module.get_config(variant or None)
    except (ValueError, KeyError) as e:
        raise UserError(f"config {path}: {e}") from e
    apply_overrides(config, overrides)
    validate(config)
    return config


def config_from_json(text: str) -> ml_collections.ConfigDict:
    """The resolved config a work directory keeps in config.json."""
    return ml_collections.ConfigDict(json.loads(text))


def apply_overrides(config: ml_collections.ConfigDict, overrides) -> None:
    """Applies `KEY=VALUE` strings (dotted keys); the value must fit the key's current type."""
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep:
            raise UserError(f"override {item!r} is not of the form --config.KEY=VALUE")
        *parents, leaf = key.split(".")
        node = config
        for i, part in enumerate(parents):
            if part not in node or not isinstance(node[part], ml_collections.ConfigDict):
                raise UserError(f"unknown config key: {'.'.join(parents[:i + 1])}")
            node = node[part]
        if leaf not in node:
            raise UserError(f"unknown config key: {key}")
        node[leaf] = _parse_like(node[leaf], raw, key)


def _parse_like(current, raw: str, key: str):
    """`raw` converted to the type of `current` (bool, int, float, str, tuple, None)."""
    expected = type(current)
    try:
        if isinstance(current, bool):
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError
            return lowered in ("true", "1")
        if isinstance(current, int):
            return int(raw)
        if isinstance(current, float):
            return float(raw)
        if isinstance(current, str):
            return raw
        if current is None:
            try:
                return ast.literal_eval(raw)
            except (ValueError, SyntaxError):
                return raw
        if isinstance(current, (tuple, list)):
            value = ast.literal_eval(raw)
            if not isinstance(value, (tuple, list)):
                value = (value,)
            return expected(value)
    except (ValueError, SyntaxError):
        pass
    else:
        raise UserError(f"config key {key} holds a {expected.__name__}, which cannot be overridden")
    raise UserError(f"config key {key} expects a {expected.__name__}, got {raw!r}")


def validate(config: ml_collections.ConfigDict) -> None:
    """Rejects missing keys and impossible values with one line each."""
    missing = [k for k in REQUIRED_KEYS if k not in config]
    if missing:
        raise UserError(f"config lacks required keys: {', '.join(missing)}")
    for key in ("total_steps", "log_every", "eval_every", "checkpoint_every"):
        if not isinstance(config[key], int) or config[key] < 0:
            raise UserError(f"config key {key} must be a non-negative integer, got {config[key]!r}")
    for key in ("batch_size", "keep_checkpoints"):
        if not isinstance(config[key], int) or config[key] <= 0:
            raise UserError(f"config key {key} must be a positive integer, got {config[key]!r}")
    if not config.learning_rate > 0:
        raise UserError(f"config key learning_rate must be positive, got {config.learning_rate!r}")
    accumulate = config.optimizer.get("accumulate_steps", 1) if "optimizer" in config else 1
    if not isinstance(accumulate, int) or accumulate <= 0:
        raise UserError(f"config key optimizer.accumulate_steps must be a positive integer, "
                        f"got {accumulate!r}")
    if accumulate > 1 and config.task == "gan":
        raise UserError("optimizer.accumulate_steps: the GAN task does not accumulate gradients "
                        "(its D and G updates alternate within each step)")
    if config.total_steps % accumulate:
        raise UserError(f"total_steps ({config.total_steps}) must be a multiple of "
                        f"optimizer.accumulate_steps ({accumulate}): each update takes "
                        f"{accumulate} steps")
    remat = config.model.get("remat", "none") if "model" in config else "none"
    from jresgen.nn.remat import REMAT_POLICIES  # here: configs load without flax otherwise
    if remat not in REMAT_POLICIES:
        raise UserError(f"config key model.remat must be one of {', '.join(REMAT_POLICIES)}, "
                        f"got {remat!r}")
    if config.parallelism not in PARALLELISM:
        raise UserError(f"config key parallelism must be one of {', '.join(PARALLELISM)}, "
                        f"got {config.parallelism!r}")


def base_config(task: str) -> ml_collections.ConfigDict:
    """The keys every config shares, with defaults; a config file changes what it needs."""
    config = ml_collections.ConfigDict()
    config.task = task
    config.seed = 0
    config.total_steps = 1000
    config.batch_size = 16  # global, across all devices
    config.learning_rate = 1e-4
    config.log_every = 50
    config.eval_every = 500  # 0: only at the end
    config.checkpoint_every = 500  # 0: only at the end
    config.keep_checkpoints = 3
    config.parallelism = "pmap"  # or "jit"
    config.prefetch_batches = -1  # batches built ahead on a thread; -1: auto (train/feed.py)
    config.sweep_vmap_size = 0  # variants per vmapped call in a sweep (0: auto; train/sweep.py)
    config.model = ml_collections.ConfigDict()
    config.data = ml_collections.ConfigDict()
    config.optimizer = ml_collections.ConfigDict(dict(
        name="adam", b1=0.9, b2=0.999, eps=1e-8, weight_decay=0.0, momentum=0.9,
        nesterov=False, schedule="constant", warmup_steps=0, final_lr_fraction=0.0,
        decay_boundaries=(0.5, 0.75), decay_factor=0.5, grad_clip_norm=0.0,
        accumulate_steps=1))  # >1: gradient accumulation over that many steps (optim.py)
    return config
