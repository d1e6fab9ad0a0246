"""How much of a train step the input pipeline costs, source by source.

    python -m benchmarks.input_share [--case NAME ...] [--steps 40] \
        --out benchmarks/results/cpu_input_share.json

For each case (a config and its data source), in one process and alternating, so both sides
see the same machine:
- `step_ms`: steps fed one fixed device batch (no input work at all);
- `fed_ms`: steps fed as `jresgen train` feeds them (jresgen/train/feed.py: the next batch is
  built and sent to the devices while the step runs);
- `batch_ms`: building and sending one batch alone, synchronised (the cost prefetching hides);
- `input_share = (fed_ms - step_ms) / fed_ms`: the share of step time the input still costs
  with prefetching on (the goal is at most 5 %). On this 2-core CPU the batch is built on the
  cores the step computes on, so what is hidden is only what the step leaves idle.
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

# name -> (config, overrides); "{folder}" is a folder of the embedded photos as image files
CASES = {
    "sr_x2 embedded photos": ("configs/sr_x2.py", []),
    "sr_x2 image folder": ("configs/sr_x2.py", ["data.source=folder", "data.train_dir={folder}"]),
    "classifier_digits embedded": ("configs/classifier_digits.py", []),
    "sngan_digits embedded": ("configs/sngan_digits.py", []),
    "texture_net_brick embedded": ("configs/texture_net_brick.py", []),
}


def _photo_folder() -> str:
    from jresgen.data.image_io import write_image
    from jresgen.data.photos import SR_TRAIN_PHOTOS, load_photo

    folder = Path(tempfile.mkdtemp(prefix="input_share_"))
    for name in SR_TRAIN_PHOTOS:
        write_image(folder / f"{name}.png", load_photo(name))
    return str(folder)


def _steps_per_ms(run_steps, steps: int) -> float:
    start = time.perf_counter()
    jax.block_until_ready(run_steps(steps))
    return (time.perf_counter() - start) / steps * 1e3


def measure(config_path: str, overrides: list[str], steps: int, rounds: int) -> dict:
    from jresgen.config import load_config
    from jresgen.tasks import get_task
    from jresgen.train.feed import device_batches
    from jresgen.train.parallel import make_strategy
    from jresgen.train.runs import make_run

    config = load_config(config_path, overrides)
    run = make_run(config, get_task(config.task))
    run.build_data()
    strategy = make_strategy(config.parallelism)
    example = run.example()
    state = [run.init(strategy, example)]
    step_fn = strategy.compile(run.step_fn(example, strategy.axis_name))
    fixed = strategy.shard(example)
    first = [0]  # steps already fed: every fed round sees new batches, as training does

    def fixed_steps(n):
        for _ in range(n):
            state[0], metrics = step_fn(state[0], fixed)
        return metrics

    def fed_steps(n):
        for batch in device_batches(run, strategy, first[0], first[0] + n):
            state[0], metrics = step_fn(state[0], batch)
        first[0] += n
        return metrics

    jax.block_until_ready(fixed_steps(2))  # compile and warm up
    jax.block_until_ready(fed_steps(2))
    step_ms, fed_ms = [], []
    for _ in range(rounds):
        step_ms.append(_steps_per_ms(fixed_steps, steps))
        fed_ms.append(_steps_per_ms(fed_steps, steps))
    batch_ms = []
    for step in range(steps):
        start = time.perf_counter()
        jax.block_until_ready(strategy.shard(run.batch(first[0] + step)))
        batch_ms.append((time.perf_counter() - start) * 1e3)
    step, fed = float(np.median(step_ms)), float(np.median(fed_ms))
    return {"config": config_path, "overrides": overrides, "batch_size": config.batch_size,
            "devices": strategy.num_devices, "parallelism": config.parallelism,
            "step_ms": round(step, 2), "fed_ms": round(fed, 2),
            "batch_ms": round(float(np.median(batch_ms)), 2),
            "input_share": round((fed - step) / fed, 4)}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--steps", type=int, default=40, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--tiny", action="store_true", help="the configs' :tiny variants (a smoke test)")
    args = parser.parse_args(argv)

    folder = None
    results = {"platform": jax.devices()[0].platform, "cases": {}}
    for name in args.case:
        config_path, overrides = CASES[name]
        config_path += ":tiny" if args.tiny else ""
        if any("{folder}" in o for o in overrides):
            folder = folder or _photo_folder()
            overrides = [o.format(folder=folder) for o in overrides]
        figures = measure(config_path, overrides, args.steps, args.rounds)
        results["cases"][name] = figures
        print(f"{name}: step {figures['step_ms']} ms, fed {figures['fed_ms']} ms, batch alone "
              f"{figures['batch_ms']} ms -> input share {figures['input_share']:.1%}", flush=True)
    if args.out:
        Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
