"""Data parallelism: 4 fake devices under pmap and under jit equal 1 device; the step compiles
once, donates its state and moves nothing between host and devices on its own."""
import functools

import jax
import numpy as np
import pytest

from conftest import tiny_sr_config, train_with
from jresgen import data as datasets
from jresgen.errors import UserError
from jresgen.tasks import get_task
from jresgen.train.runs import optimizer_factory
from jresgen.train.parallel import check_batch_size, make_strategy

STEPS = 3


@pytest.fixture(scope="module")
def config():
    # BatchNorm makes the test meaningful: its statistics must be those of the global batch.
    # SGD, not Adam: Adam's update ignores the gradient's scale, so a sum over devices where a
    # mean belongs (the psum-for-pmean trap) would change nothing it shows.
    return tiny_sr_config(model__norm="batch", batch_size=8, learning_rate=0.2,
                          optimizer__name="sgd", optimizer__momentum=0.9)


@pytest.fixture(scope="module")
def one_device(config):
    return train_with(config, "pmap", jax.local_devices()[:1], STEPS)


def _assert_same_state(a, b, **tolerance):
    for x, y in zip(jax.tree.leaves((a.params, a.model_state, a.opt_state)),
                    jax.tree.leaves((b.params, b.model_state, b.opt_state))):
        np.testing.assert_allclose(x, y, **tolerance)


def test_the_parameters_move(config, one_device):
    state, losses = one_device
    fresh = train_with(config, "pmap", jax.local_devices()[:1], 0)[0]
    change = max(float(np.max(np.abs(a - b))) for a, b in
                 zip(jax.tree.leaves(state.params), jax.tree.leaves(fresh.params)))
    assert change > 1e-3  # far above the tolerances below; else the comparisons below would compare nothing


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_four_devices_equal_one(strategy, config, one_device):
    assert jax.local_device_count() == 4
    state1, losses1 = one_device
    state4, losses4 = train_with(config, strategy, jax.local_devices(), STEPS)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    _assert_same_state(state1, state4, rtol=2e-4, atol=2e-6)
    assert int(state4.step) == STEPS


def test_jit_on_one_device_equals_pmap_on_one(config, one_device):
    state_jit, losses = train_with(config, "jit", jax.local_devices()[:1], STEPS)
    np.testing.assert_allclose(losses, one_device[1], rtol=1e-6)
    _assert_same_state(state_jit, one_device[0], rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_step_compiles_once_donates_and_transfers_nothing_itself(strategy, config):
    """Several steps: one trace; the input state is donated (its buffers deleted); under
    jax.transfer_guard("disallow") only the explicit placement of batches moves data."""
    task = get_task(config.task)
    strat = make_strategy(strategy, jax.local_devices())
    source, _ = datasets.build(config)
    traces = []

    def counted(state, batch):
        traces.append(1)  # runs when jax traces the step, not when the compiled step runs
        return task.train_step(state, batch, config=config, axis_name=strat.axis_name)
    step = strat.compile(counted)
    first = source.batch(0)
    dstate = strat.init(lambda rng: task.init_state(config, rng, first,
                                                    optimizer_factory(config)),
                        jax.random.PRNGKey(0))
    with jax.transfer_guard("disallow"):
        for i in range(STEPS):
            before = jax.tree.leaves(dstate)
            dstate, metrics = step(dstate, strat.shard(source.batch(i)))
            assert all(x.is_deleted() for x in before)
    assert len(traces) == 1
    assert np.isfinite(strat.metrics_to_host(metrics)["loss"])


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_init_and_place_give_the_replicated_state(strategy, config):
    """`init` (jitted, into the placement) equals the host state replicated; `local_state`
    and `place` round-trip it."""
    task = get_task(config.task)
    strat = make_strategy(strategy, jax.local_devices())
    batch = datasets.build(config)[0].batch(0)
    make = functools.partial(task.init_state, config, jax.random.PRNGKey(0), batch,
                             optimizer_factory(config))
    born = strat.init(make)
    host = strat.unreplicate(strat.replicate(make()))
    _assert_same_state(strat.unreplicate(born), host, rtol=1e-6, atol=1e-7)
    local = strat.local_state(born)
    assert all(len(x.devices()) == 1 for x in jax.tree.leaves(local))
    again = strat.place(jax.device_put(local, strat.restore_sharding)
                        if strategy == "jit" else local)
    _assert_same_state(strat.unreplicate(again), host, rtol=1e-6, atol=1e-7)


def test_batch_must_divide_over_devices():
    with pytest.raises(UserError, match="not divisible"):
        check_batch_size(6, 4)
