"""Every test process sees four fake CPU devices, so data parallelism is exercised for real;
single-device runs take `jax.local_devices()[:1]`. XLA reads the flag when the first backend
starts, so it is set here, before anything imports jax."""
import os
import sys
from pathlib import Path

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session")
def configs_dir() -> Path:
    return CONFIGS


def tiny_sr_config(**overrides):
    """The sr_x2 config's :tiny variant with `overrides` applied (dotted keys allowed)."""
    from jresgen.config import apply_overrides, load_config
    config = load_config(f"{CONFIGS / 'sr_x2.py'}:tiny")
    apply_overrides(config, [f"{k.replace('__', '.')}={v}" for k, v in overrides.items()])
    return config


sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture(scope="module")
def cheap_compilation():
    """XLA's cheap pipeline, for a module whose tests pay for compilation, not numerics: it
    halves their time."""
    import jax
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


def one_line_error(capsys, argv, match):
    """`jresgen ARGV` fails with exit 2 and one `jresgen: error:` line containing `match`."""
    from jresgen.cli import main
    code = main(argv)
    err = capsys.readouterr().err.strip()
    assert code == 2, err
    assert len(err.splitlines()) == 1, err
    assert err.startswith("jresgen: error:") and match in err, err


def train_with(config, strategy_name: str, devices, steps: int):
    """Runs `steps` train steps of `config`'s task under a parallelism strategy on `devices`,
    as the loop does; returns (host state, losses)."""
    import functools

    import jax

    from jresgen import data as datasets
    from jresgen.tasks import get_task
    from jresgen.train.runs import optimizer_factory
    from jresgen.train.parallel import make_strategy

    task = get_task(config.task)
    strategy = make_strategy(strategy_name, devices)
    source, _ = datasets.build(config)
    state = task.init_state(config, jax.random.PRNGKey(0), source.batch(0),
                            optimizer_factory(config))
    step = strategy.compile(functools.partial(task.train_step, config=config,
                                              axis_name=strategy.axis_name))
    dstate, losses = strategy.replicate(state), []
    for i in range(steps):
        dstate, metrics = step(dstate, strategy.shard(source.batch(i)))
        losses.append(strategy.metrics_to_host(metrics)["loss"])
    return strategy.unreplicate(dstate), losses


def losses_on_one_batch(config, steps: int):
    """Losses of `steps` jitted train steps on the config's first batch, repeated."""
    import functools

    import jax

    from jresgen import data as datasets
    from jresgen.tasks import get_task
    from jresgen.train.optim import make_optimizer

    task = get_task(config.task)
    batch = datasets.build(config)[0].batch(0)
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate, 100)
    state = task.init_state(config, jax.random.PRNGKey(0), batch, make_tx)
    step = jax.jit(functools.partial(task.train_step, config=config))
    losses = []
    for _ in range(steps):
        state, metrics = step(state, batch)
        losses.append(float(metrics["loss"]))
    return losses


def interrupt_at_step(patch, step: int) -> None:
    """Makes the training loop receive Ctrl-C while step `step` runs (the loop builds batch
    `step` then), through `patch` (a pytest MonkeyPatch) on jresgen.data.build."""
    import signal

    from jresgen import data as datasets
    build = datasets.build

    def build_with_interrupt(config):
        source, eval_data = build(config)
        batch = source.batch

        def batch_with_interrupt(i, rows=None):
            if i == step:
                os.kill(os.getpid(), signal.SIGINT)
            return batch(i, rows)
        source.batch = batch_with_interrupt
        return source, eval_data
    patch.setattr(datasets, "build", build_with_interrupt)
