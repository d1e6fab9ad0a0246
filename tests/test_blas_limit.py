"""The input threads' BLAS limit (jresgen/data/blas.py) holds while any thread is inside and is
restored when the last leaves, whatever order overlapping threads leave in."""
import threading

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from jresgen.data.blas import single_threaded_blas


def _blas_threads():
    return [lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"]


def test_overlapping_threads_restore_the_original_limit():
    np.ones((2, 2)) @ np.ones((2, 2))  # BLAS loaded
    original = _blas_threads()
    if not original or max(original) < 2:
        pytest.skip("no multi-threaded BLAS under threadpoolctl's control")
    inside, first_in, second_in, first_may_leave = [], threading.Event(), threading.Event(), \
        threading.Event()

    def first():  # enters first, leaves while the second is still inside
        with single_threaded_blas():
            first_in.set()
            second_in.wait()
            inside.append(_blas_threads())
        first_may_leave.set()

    def second():
        first_in.wait()
        with single_threaded_blas():
            second_in.set()
            first_may_leave.wait()
            inside.append(_blas_threads())  # the first has left: still limited

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    [t.start() for t in threads]
    [t.join() for t in threads]
    assert inside == [[1] * len(original)] * 2
    assert _blas_threads() == original
