"""The train loop's input: each step's batch, on the devices before the step needs it."""
import collections
from concurrent.futures import ThreadPoolExecutor

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
    - `prefetch=N`: N threads build and send the next N batches, each thread a whole batch,
      so a slow batch (decoding files) is hidden behind several steps, the loop's own host work
      (logging, the next dispatch) does not wait for it, and batches that take longer to build
      than a step takes to compute are still ready in time, as long as building releases the
      GIL (numpy, PIL, file reads, the transfer to the devices). Batches come out in step
      order. On an accelerator the host has cores to spare; on a CPU the threads share the
      cores the step computes on.
    benchmarks/input_share.py measures both, source by source.
    """
    # Each process builds only its rows of the global batch (`run.batch`).
    make = lambda step: strategy.shard_local(run.batch(step))  # noqa: E731
    if prefetch <= 0:
        return (make(step) for step in range(start, stop))
    return _Prefetched(make, range(start, stop), prefetch)


class _Prefetched:
    """Iterates `make(step)` for `steps`, `depth` steps ahead on `depth` worker threads; an
    error in a worker is raised in the caller at the step it belongs to."""

    def __init__(self, make, steps, depth: int):
        self._make, self._steps = make, iter(steps)
        self._pool = ThreadPoolExecutor(depth, thread_name_prefix="jresgen-prefetch")
        self._pending: collections.deque = collections.deque()
        for _ in range(depth):
            self._submit_next()

    def _submit_next(self) -> None:
        step = next(self._steps, None)
        if step is not None:
            self._pending.append(self._pool.submit(self._make, step))

    def __iter__(self):
        return self

    def __next__(self):
        if not self._pending:
            raise StopIteration
        batch = self._pending.popleft()
        self._submit_next()
        return batch.result()  # a worker's error is raised here, at its step

    def close(self) -> None:
        """Drops the batches not yet taken; a worker finishes the batch it is building."""
        self._pending.clear()
        self._pool.shutdown(wait=True, cancel_futures=True)
