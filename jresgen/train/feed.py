"""The train loop's input: each step's batch, on the devices before the step needs it."""


def device_batches(run, strategy, start: int, stop: int):
    """The device batch of every step from `start` to `stop`.

    Each batch is built (a pure function of the seed and step, `run.batch`) and sent to the
    devices when the caller takes it; the loop takes the next one right after dispatching a
    step, and JAX dispatches asynchronously, so the host builds and sends batch k+1 while the
    devices compute step k. benchmarks/input_share.py measures what this leaves of the input
    cost, source by source.
    """
    for step in range(start, stop):
        yield strategy.shard(run.batch(step))
