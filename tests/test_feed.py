"""The loop's input path (jresgen/train/feed.py): prefetching changes when batches are built,
never which batch a step gets."""
import random
import threading
import time

import numpy as np
import pytest

from test_train_loop import _losses, tiny_sr_config
from jresgen.train.feed import device_batches
from jresgen.train.loop import train_and_evaluate


class _Run:
    """batch(step) = the step number, built in a random time (so workers finish out of order);
    fails at `fail_at`."""

    def __init__(self, fail_at=None):
        self.fail_at, self.built, self.lock = fail_at, [], threading.Lock()

    def batch(self, step):
        time.sleep(random.uniform(0, 0.01))
        with self.lock:
            self.built.append(step)
        if step == self.fail_at:
            raise ValueError(f"broken example at step {step}")
        return {"x": np.full((2,), step)}


class _Strategy:
    shard_local = staticmethod(lambda rows: rows)  # the run gives this process's rows


@pytest.mark.parametrize("prefetch", [0, 1, 4])
def test_batches_come_in_step_order(prefetch):
    batches = device_batches(_Run(), _Strategy(), 3, 23, prefetch)
    assert [int(b["x"][0]) for b in batches] == list(range(3, 23))
    batches.close()


@pytest.mark.parametrize("prefetch", [0, 3])
def test_an_error_is_raised_at_its_step(prefetch):
    batches = device_batches(_Run(fail_at=5), _Strategy(), 0, 10, prefetch)
    got = []
    with pytest.raises(ValueError, match="at step 5"):
        for b in batches:
            got.append(int(b["x"][0]))
    assert got == [0, 1, 2, 3, 4]
    batches.close()


def test_close_stops_the_workers():
    run = _Run()
    batches = device_batches(run, _Strategy(), 0, 1000, prefetch=4)
    next(batches)
    batches.close()
    built = len(run.built)
    time.sleep(0.05)
    assert len(run.built) == built <= 1 + 4 + 4  # taken, in flight, queued: no more after close


def test_training_with_prefetch_threads_equals_without(tmp_path):
    train_and_evaluate(tiny_sr_config(prefetch_batches=0, checkpoint_every=0), tmp_path / "a")
    train_and_evaluate(tiny_sr_config(prefetch_batches=3, checkpoint_every=0), tmp_path / "b")
    assert _losses(tmp_path / "b") == _losses(tmp_path / "a")
