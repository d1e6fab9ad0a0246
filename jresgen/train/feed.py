"""The train loop's input: each step's batch, on the devices before the step needs it."""
import queue
import threading

import jax


def prefetch_depth(config) -> int:
    """`config.prefetch_batches`, or where it is -1 (the default) the measured best for the
    platform: on the CPU the step already uses every core, and a builder thread only competes
    with it (benchmarks/input_share.py), so 0; on an accelerator 2."""
    depth = config.get("prefetch_batches", -1)
    if depth >= 0:
        return depth
    return 0 if jax.default_backend() == "cpu" else 2


def device_batches(run, strategy, start: int, stop: int, prefetch: int = 0):
    """The device batch of every step from `start` to `stop` (an iterator; `close()` it).

    Each batch is a pure function of the seed and step (`run.batch`), so building batches
    ahead changes nothing the run computes, only when the host's work happens:
    - `prefetch=0`: built and sent when the caller takes it. The loop takes the next one right
      after dispatching a step, and JAX dispatches asynchronously, so the host builds batch k+1
      while the devices compute step k.
    - `prefetch=N`: a background thread builds and sends up to N batches ahead, so a slow
      batch (decoding files) is hidden behind several steps and the loop's own host work
      (logging, the next dispatch) does not wait for it. On an accelerator the host has cores
      to spare; on a CPU the thread shares the cores the step computes on.
    benchmarks/input_share.py measures both, source by source.
    """
    # Each process builds only its rows of the global batch (`run.batch`).
    make = lambda step: strategy.shard_local(run.batch(step))  # noqa: E731
    if prefetch <= 0:
        return (make(step) for step in range(start, stop))
    return _Prefetched(make, range(start, stop), prefetch)


class _Failed:
    def __init__(self, error: BaseException):
        self.error = error


class _Prefetched:
    """Iterates `make(step)` for `steps`, computed by a daemon thread at most `depth` ahead; an
    error in the thread is raised in the caller at the step it belongs to."""

    def __init__(self, make, steps, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._closed = threading.Event()
        self._left = len(steps)
        self._thread = threading.Thread(target=self._fill, args=(make, steps), daemon=True,
                                        name="jresgen-prefetch")
        self._thread.start()

    def _fill(self, make, steps) -> None:
        for step in steps:
            try:
                item = make(step)
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                item = _Failed(e)
            while not self._closed.is_set():
                try:
                    self._queue.put(item, timeout=0.1)
                    break
                except queue.Full:
                    continue
            if self._closed.is_set() or isinstance(item, _Failed):
                return

    def __iter__(self):
        return self

    def __next__(self):
        if self._left == 0:
            raise StopIteration
        item = self._queue.get()
        self._left -= 1
        if isinstance(item, _Failed):
            self.close()
            raise item.error
        return item

    def close(self) -> None:
        """Stops the thread (it finishes the batch it is building) and drops what it made."""
        self._closed.set()
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                break
        self._thread.join()
