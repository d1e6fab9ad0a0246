"""The input threads' BLAS limit (jresgen/data/blas.py) holds while any thread is inside and is
restored when the last leaves, whatever order overlapping threads leave in.

The counting is checked against a stand-in for threadpoolctl that records the process-wide
limit: reading OpenBLAS's thread count back from other threads proved unreliable (CI once saw
the default count inside both threads where this machine sees the limit), and what jresgen owns
is when the limit is set and restored, not how OpenBLAS reports it. One check on the real
library, from this thread, stays."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from jresgen.data import blas
from jresgen.data.blas import single_threaded_blas


class _RecordedLimit:
    """threadpoolctl.threadpool_limits as seen by the process: one current limit."""
    current = None  # no limit
    calls = 0

    def __init__(self, limit):
        type(self).calls += 1
        self._saved, type(self).current = type(self).current, limit

    def restore_original_limits(self):
        type(self).current = self._saved


def test_overlapping_threads_keep_the_limit_until_the_last_leaves(monkeypatch):
    monkeypatch.setattr(blas, "threadpool_limits", _RecordedLimit)
    inside, first_in, second_in, first_may_leave = [], threading.Event(), threading.Event(), \
        threading.Event()

    def first():  # enters first, leaves while the second is still inside
        with single_threaded_blas():
            first_in.set()
            second_in.wait()
            inside.append(_RecordedLimit.current)
        first_may_leave.set()

    def second():
        first_in.wait()
        with single_threaded_blas():
            second_in.set()
            first_may_leave.wait()
            inside.append(_RecordedLimit.current)  # the first has left: still limited

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    [t.start() for t in threads]
    [t.join(timeout=30) for t in threads]
    assert inside == [1, 1]
    assert _RecordedLimit.current is None  # restored by the last one out
    assert _RecordedLimit.calls == 1  # set once for the overlapping pair


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_the_real_blas_is_limited_inside_and_restored_after():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    original = _blas_threads()
    if not original or max(original) < 2:
        pytest.skip("no multi-threaded BLAS under threadpoolctl's control")
    with single_threaded_blas():
        assert _blas_threads() == [1] * len(original)
    assert _blas_threads() == original
