"""Data parallelism: 4 fake devices under pmap and under jit equal 1 device."""

import jax
import numpy as np
import pytest

from conftest import tiny_sr_config, train_with
from jresgen.train.parallel import check_batch_size
from jresgen.errors import UserError

STEPS = 3


@pytest.fixture(scope="module")
def config():
    # BatchNorm makes the test meaningful: its statistics must be those of the global batch.
    return tiny_sr_config(model__norm="batch", batch_size=8, learning_rate=0.01)


@pytest.fixture(scope="module")
def one_device(config):
    return train_with(config, "pmap", jax.local_devices()[:1], STEPS)


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_four_devices_equal_one(strategy, config, one_device):
    assert jax.local_device_count() == 4
    state1, losses1 = one_device
    state4, losses4 = train_with(config, strategy, jax.local_devices(), STEPS)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    for a, b in zip(jax.tree.leaves((state1.params, state1.model_state)),
                    jax.tree.leaves((state4.params, state4.model_state))):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)
    assert int(state4.step) == STEPS


def test_jit_on_one_device_equals_pmap_on_one(config, one_device):
    state_jit, losses = train_with(config, "jit", jax.local_devices()[:1], STEPS)
    np.testing.assert_allclose(losses, one_device[1], rtol=1e-6)


def test_batch_must_divide_over_devices():
    with pytest.raises(UserError, match="not divisible"):
        check_batch_size(6, 4)
