"""Data parallelism: 4 fake devices under pmap and under jit equal 1 device."""
import functools

import jax
import numpy as np
import pytest

from conftest import tiny_sr_config
from jresgen import data as datasets
from jresgen.tasks import sr as task
from jresgen.train.optim import make_optimizer
from jresgen.train.parallel import check_batch_size, make_strategy
from jresgen.errors import UserError

STEPS = 3


def _train(strategy_name, devices, config):
    strategy = make_strategy(strategy_name, devices)
    source, _ = datasets.build(config)
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate,
                                config.total_steps)
    state = task.init_state(config, jax.random.PRNGKey(0), source.batch(0), make_tx)
    step = strategy.compile(functools.partial(task.train_step, config=config,
                                              axis_name=strategy.axis_name))
    dstate, losses = strategy.replicate(state), []
    for i in range(STEPS):
        dstate, metrics = step(dstate, strategy.shard(source.batch(i)))
        losses.append(float(metrics["loss"]))
    return strategy.unreplicate(dstate), losses


@pytest.fixture(scope="module")
def config():
    # BatchNorm makes the test meaningful: its statistics must be those of the global batch.
    return tiny_sr_config(model__norm="batch", batch_size=8, learning_rate=0.01)


@pytest.fixture(scope="module")
def one_device(config):
    return _train("pmap", jax.local_devices()[:1], config)


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_four_devices_equal_one(strategy, config, one_device):
    assert jax.local_device_count() == 4
    state1, losses1 = one_device
    state4, losses4 = _train(strategy, jax.local_devices(), config)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    for a, b in zip(jax.tree.leaves((state1.params, state1.model_state)),
                    jax.tree.leaves((state4.params, state4.model_state))):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
    assert int(state4.step) == STEPS


def test_jit_on_one_device_equals_pmap_on_one(config, one_device):
    state_jit, losses = _train("jit", jax.local_devices()[:1], config)
    np.testing.assert_allclose(losses, one_device[1], rtol=1e-6)


def test_batch_must_divide_over_devices():
    with pytest.raises(UserError, match="not divisible"):
        check_batch_size(6, 4)
