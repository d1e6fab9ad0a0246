"""Gradient accumulation (`optimizer.accumulate_steps`, optax.MultiSteps): N micro-batches make
the update one batch N times larger makes, on a net without BatchNorm."""
import functools

import jax
import numpy as np
import pytest

from conftest import tiny_sr_config
from jresgen import data as datasets
from jresgen.config import validate
from jresgen.errors import UserError
from jresgen.tasks import sr as sr_task
from jresgen.train.runs import optimizer_factory


def _run(config, batches):
    state = sr_task.init_state(config, jax.random.PRNGKey(0), batches[0],
                               optimizer_factory(config))
    step = jax.jit(functools.partial(sr_task.train_step, config=config))
    trail = [state.params]  # the parameters before and after each step
    for batch in batches:
        state, _ = step(state, batch)
        trail.append(state.params)
    return trail


def test_four_micro_batches_equal_one_batch_four_times_larger():
    n, micro = 4, 2
    # Adam with warm-up and cosine decay: the schedule must count updates, not micro-steps
    common = dict(total_steps=8, optimizer__schedule="warmup_cosine",
                  optimizer__warmup_steps=1, optimizer__grad_clip_norm=1.0)
    big_config = tiny_sr_config(batch_size=n * micro, **common)
    accumulated = tiny_sr_config(batch_size=micro, optimizer__accumulate_steps=n,
                                 **{**common, "total_steps": 8 * n})
    source, _ = datasets.build(big_config)
    big = [source.batch(i) for i in range(2)]
    micro_batches = [{k: v[j * micro:(j + 1) * micro] for k, v in b.items()}
                     for b in big for j in range(n)]

    reference = _run(big_config, big)
    trail = _run(accumulated, micro_batches)
    for k in range(1, n):  # no update until the n-th micro-batch
        jax.tree.map(np.testing.assert_array_equal, trail[k], trail[0])
    for update in (1, 2):
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6),
                     trail[update * n], reference[update])
    # the second update moved the parameters (the first has the warm-up's learning rate 0)
    moved = jax.tree.map(lambda a, b: float(np.max(np.abs(a - b))), trail[2 * n], trail[n])
    assert max(jax.tree.leaves(moved)) > 1e-4


def test_accumulate_steps_must_divide_total_steps():
    with pytest.raises(UserError, match="multiple of optimizer.accumulate_steps"):
        validate(tiny_sr_config(total_steps=10, optimizer__accumulate_steps=4))
    with pytest.raises(UserError, match="positive integer"):
        validate(tiny_sr_config(optimizer__accumulate_steps=0))


def test_the_gan_task_refuses_accumulation():
    from conftest import CONFIGS
    from jresgen.config import load_config
    with pytest.raises(UserError, match="GAN task does not accumulate"):
        load_config(f"{CONFIGS / 'dcgan_digits.py'}:tiny", ["optimizer.accumulate_steps=2"])
