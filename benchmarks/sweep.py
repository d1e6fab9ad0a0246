"""A sweep of K learning rates in one program against the single run's step, in one process.

    python -m benchmarks.sweep --config configs/sr_x2.py --variants 4 [--vmap-size 0 4]

Prints the median step time (after warm-up, synchronised) of one single-run step and of one
sweep step of K variants for each `sweep_vmap_size`, and the speed-up of the sweep over K
single steps one after another (images/s per variant). Both sides run alternately in the same
process, on the same batch, so the ratio is not process-to-process noise.
"""
import argparse
import functools
import time

import jax
import numpy as np


def _time(step, state, batch, rounds):
    state, metrics = step(state, batch)
    jax.block_until_ready(metrics)
    times = []
    for _ in range(rounds):
        t0 = time.perf_counter()
        state, metrics = step(state, batch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - t0)
    return state, float(np.median(times)) * 1e3


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/sr_x2.py")
    parser.add_argument("--variants", type=int, default=4)
    parser.add_argument("--vmap-size", type=int, nargs="+", default=[0],
                        help="sweep_vmap_size values to time (0: the default for the device)")
    parser.add_argument("--rounds", type=int, default=8)
    args = parser.parse_args(argv)

    from jresgen import data as datasets
    from jresgen.config import load_config
    from jresgen.tasks import get_task
    from jresgen.train import sweep as sweeps
    from jresgen.train.parallel import make_strategy
    from jresgen.train.runs import initial_state

    base = load_config(args.config)
    task = get_task(base.task)
    strategy = make_strategy(base.parallelism, jax.local_devices()[:1])
    batch_host = datasets.build(base)[0].batch(0)
    batch = strategy.shard(batch_host)
    single = strategy.init(lambda rng: initial_state(base, task, batch_host, rng),
                           jax.random.PRNGKey(base.seed))
    single_step = strategy.compile(functools.partial(task.train_step, config=base,
                                                     axis_name=strategy.axis_name))
    rates = ",".join(str(base.learning_rate * 0.5 ** i) for i in range(args.variants))
    print(f"{args.config}, batch {base.batch_size}, {jax.devices()[0].platform}, "
          f"{args.variants} learning rates ({rates})")
    for size in args.vmap_size:
        config = load_config(args.config, [f"sweep_vmap_size={size}"])
        sweeps.add_sweep_args(config, [f"learning_rate={rates}"])
        sweep = sweeps.Sweep(config, task)
        state = strategy.init(sweep.init_fn(batch_host, initial_state), *sweep.init_args())
        step = strategy.compile(sweep.step_fn(batch_host, initial_state, strategy.axis_name))
        for _ in range(2):  # alternate: both sides see the same machine state
            single, one = _time(single_step, single, batch, args.rounds)
            state, many = _time(step, state, batch, args.rounds)
            print(f"sweep_vmap_size {size} (vmaps {sweep.vmap_size} at a time): single step "
                  f"{one:.1f} ms; sweep step {many:.1f} ms = {many / args.variants:.1f} ms per "
                  f"variant; speed-up over {args.variants} single steps "
                  f"{one * args.variants / many:.2f}x")


if __name__ == "__main__":
    main()
