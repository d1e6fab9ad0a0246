"""pmap against jit in one process, as `jresgen train` runs them: every step places its batch
and dispatches the step, metrics stay on the devices, one sync per block of steps. Blocks of
the two strategies alternate (ABBA...), so a shared machine's drifting load hits both alike.

    python -m benchmarks.strategy_ab configs/sr_x2.py [--batch 16] [--devices 1]
        [--block 10] [--rounds 4]

Prints each strategy's median ms/step over the blocks and the pmap/jit ratio.
"""
import argparse
import functools
import time

import numpy as np


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.strategy_ab")
    p.add_argument("config")
    p.add_argument("--batch", type=int, help="global batch (default: the config's)")
    p.add_argument("--devices", type=int, default=1)
    p.add_argument("--block", type=int, default=10, help="steps per timed block")
    p.add_argument("--rounds", type=int, default=4, help="blocks per strategy")
    args = p.parse_args(argv)

    import jresgen  # noqa: F401 - applies jresgen's XLA CPU defaults before JAX starts
    import jax
    from jresgen import data as datasets
    from jresgen.config import load_config
    from jresgen.tasks import get_task
    from jresgen.train.runs import initial_state as _initial_state
    from jresgen.train.parallel import make_strategy

    overrides = [f"batch_size={args.batch}"] if args.batch else []
    config = load_config(args.config, overrides)
    task = get_task(config.task)
    source, _ = datasets.build(config)
    batches = [source.batch(i) for i in range(4)]
    runs = {}
    for name in ("pmap", "jit"):
        strategy = make_strategy(name, jax.local_devices()[:args.devices])
        step = strategy.compile(functools.partial(task.train_step, config=config,
                                                  axis_name=strategy.axis_name))
        state = strategy.init(lambda rng: _initial_state(config, task, batches[0], rng),
                              jax.random.PRNGKey(config.seed))
        state, metrics = step(state, strategy.shard(batches[0]))  # compiles
        jax.block_until_ready(metrics)
        runs[name] = {"strategy": strategy, "step": step, "state": state, "times": []}
    for r in range(args.rounds):
        for name in ("pmap", "jit") if r % 2 == 0 else ("jit", "pmap"):
            run = runs[name]
            window, t = [], time.perf_counter()
            for i in range(args.block):
                run["state"], metrics = run["step"](run["state"],
                                                    run["strategy"].shard(batches[i % 4]))
                window.append(metrics)
            jax.device_get(window)
            run["times"].append((time.perf_counter() - t) / args.block)
    median = {name: float(np.median(run["times"])) for name, run in runs.items()}
    for name, run in runs.items():
        blocks = ", ".join(f"{1e3 * t:.1f}" for t in run["times"])
        print(f"{name}: median {1e3 * median[name]:.1f} ms/step (blocks: {blocks})")
    print(f"pmap/jit: {median['pmap'] / median['jit']:.3f}")


if __name__ == "__main__":
    main()
