"""One BLAS thread while any input thread makes samples, restored when the last one is done.

threadpoolctl's limits are process-wide: `with threadpool_limits(1)` in several prefetch
threads at once restores whatever the previous entrant saw, so overlapping exits could leave
the process at one BLAS thread for good (or lift the limit while another thread still relies on
it). The limit is therefore counted: set by the first thread in, restored by the last out."""
import threading
from contextlib import contextmanager

from threadpoolctl import threadpool_limits

_lock = threading.Lock()
_users = 0
_limiter = None


@contextmanager
def single_threaded_blas():
    global _users, _limiter
    with _lock:
        if _users == 0:
            _limiter = threadpool_limits(1)
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                _limiter.restore_original_limits()
                _limiter = None
