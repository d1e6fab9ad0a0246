"""How much of a training step the host-side input pipeline costs: the time of
`source.batch(step)` (crops, and for the "random" degradation the blur/resize/noise/JPEG of every
sample) against the time of one compiled train step on the same machine.

    python scripts/sr_input_share.py --config configs/sr_x2_real.py [--steps 30]

The loop dispatches a step asynchronously and makes the next batch while it runs, so on an
accelerator the batch is hidden as long as it is shorter than the step; on a CPU the two share
the cores, and the share below is what the input adds.
"""
import argparse
import functools
import time

import jax
import numpy as np

from jresgen import data as datasets
from jresgen.config import load_config
from jresgen.tasks import get_task
from jresgen.train.runs import optimizer_factory


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", required=True)
    parser.add_argument("--steps", type=int, default=30)
    args = parser.parse_args()
    config = load_config(args.config)
    task = get_task(config.task)
    source, _ = datasets.build(config)
    batches, batch_times = [], []
    for step in range(args.steps):
        start = time.perf_counter()
        batches.append(source.batch(step))
        batch_times.append(time.perf_counter() - start)
    state = task.init_state(config, jax.random.PRNGKey(0), batches[0], optimizer_factory(config))
    step_fn = jax.jit(functools.partial(task.train_step, config=config))
    state, metrics = step_fn(state, batches[0])  # compile
    jax.block_until_ready(metrics)
    step_times = []
    for batch in batches:
        start = time.perf_counter()
        state, metrics = step_fn(state, batch)
        jax.block_until_ready(metrics)
        step_times.append(time.perf_counter() - start)
    b, s = np.median(batch_times), np.median(step_times)
    print(f"{args.config}: batch {b * 1e3:.1f} ms, train step {s * 1e3:.1f} ms (medians of "
          f"{args.steps}); input share {b / (b + s):.0%} of a step made serially")


if __name__ == "__main__":
    main()
