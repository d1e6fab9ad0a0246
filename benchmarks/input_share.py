"""How much of a train step the input pipeline costs, source by source.

    python -m benchmarks.input_share [--case NAME ...] [--steps 40] \
        --out benchmarks/results/cpu_input_share.json

For each case (a config and its data source), in one process and alternating, so both sides
see the same machine:
- `step_ms`: steps fed one fixed device batch (no input work at all);
- `fed_ms[P]`: steps fed as `jresgen train` feeds them with `prefetch_batches=P`
  (jresgen/train/feed.py; 0: the next batch built and sent by the loop while the step runs,
  P > 0: a background thread P batches ahead);
- `batch_ms`: building and sending one batch alone, synchronised (the cost prefetching hides);
- `input_share[P] = (fed_ms[P] - step_ms) / fed_ms[P]`: the share of step time the input still
  costs (the goal is at most 5 %). On a CPU the batch is built on the cores the step computes
  on, so what can be hidden is only what the step leaves idle.

The TFDS (mock) case reads `tfds.testing.mock_data` (random examples made in memory by TFDS's
own Python, no file decoding); the TFDS (ArrayRecord) case reads a CIFAR-shaped dataset built
here from the embedded photos (benchmarks/tfds_local.py): ArrayRecord reading, PNG decoding
and jresgen's augmentation, the path a user's prepared CIFAR-10 takes.
"""
import contextlib
import argparse
import json
import tempfile
import time
from pathlib import Path

import jax
import numpy as np

import jresgen  # noqa: F401 - sets its CPU XLA flags before anything starts jax's backend

# name -> (config, overrides); "{folder}" is a folder of the embedded photos as image files
CASES = {
    "sr_x2 embedded photos": ("configs/sr_x2.py", []),
    "sr_x2 image folder": ("configs/sr_x2.py", ["data.source=folder", "data.train_dir={folder}"]),
    "classifier_digits embedded": ("configs/classifier_digits.py", []),
    "sngan_digits embedded": ("configs/sngan_digits.py", []),
    "texture_net_brick embedded": ("configs/texture_net_brick.py", []),
    "resnet20_cifar10 tfds (mock)": ("configs/resnet20_cifar10.py", []),
    "resnet20_cifar10 tfds (ArrayRecord)": ("configs/resnet20_cifar10.py", [
        "data.data_dir={tfds_dir}", "data.tfds_name=photo_cifar10"]),
    # without data.cache_images: every sample read and decoded anew (each epoch as the first)
    "resnet20_cifar10 tfds (ArrayRecord, no cache)": ("configs/resnet20_cifar10.py", [
        "data.data_dir={tfds_dir}", "data.tfds_name=photo_cifar10", "data.cache_images=False"]),
}


def _photo_folder() -> str:
    from jresgen.data.image_io import write_image
    from jresgen.data.photos import SR_TRAIN_PHOTOS, load_photo

    folder = Path(tempfile.mkdtemp(prefix="input_share_"))
    for name in SR_TRAIN_PHOTOS:
        write_image(folder / f"{name}.png", load_photo(name))
    return str(folder)


def _ms_per_step(run_steps, steps: int) -> float:
    start = time.perf_counter()
    jax.block_until_ready(run_steps(steps))
    return (time.perf_counter() - start) / steps * 1e3


def _data_context(case: str):
    if "(mock)" not in case:
        return contextlib.nullcontext()
    import tensorflow_datasets as tfds
    return tfds.testing.mock_data(num_examples=2048)


def measure(config_path: str, overrides: list[str], steps: int, rounds: int,
            depths: list[int]) -> dict:
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

    def fed_steps(n, depth):
        batches = device_batches(run, strategy, first[0], first[0] + n, prefetch=depth)
        for batch in batches:
            state[0], metrics = step_fn(state[0], batch)
        batches.close()
        first[0] += n
        return metrics

    jax.block_until_ready(fixed_steps(2))  # compile and warm up
    jax.block_until_ready(fed_steps(2, 0))
    step_ms, fed_ms = [], {d: [] for d in depths}
    for _ in range(rounds):
        step_ms.append(_ms_per_step(fixed_steps, steps))
        for depth in depths:
            fed_ms[depth].append(_ms_per_step(lambda n: fed_steps(n, depth), steps))
    batch_ms = []
    for step in range(steps):
        start = time.perf_counter()
        jax.block_until_ready(strategy.shard_local(run.batch(first[0] + step)))
        batch_ms.append((time.perf_counter() - start) * 1e3)
    step = float(np.median(step_ms))
    fed = {d: float(np.median(ms)) for d, ms in fed_ms.items()}
    return {"config": config_path, "overrides": overrides, "batch_size": config.batch_size,
            "devices": strategy.num_devices, "parallelism": config.parallelism,
            "step_ms": round(step, 2), "batch_ms": round(float(np.median(batch_ms)), 2),
            "fed_ms": {str(d): round(f, 2) for d, f in fed.items()},
            "input_share": {str(d): round((f - step) / f, 4) for d, f in fed.items()}}


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--case", nargs="+", choices=sorted(CASES), default=list(CASES))
    parser.add_argument("--steps", type=int, default=40, help="steps per timed round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--prefetch", type=int, nargs="+", default=[0, 2],
                        help="prefetch_batches values to compare")
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--tiny", action="store_true", help="the configs' :tiny variants (a smoke test)")
    args = parser.parse_args(argv)

    folder = tfds_dir = None
    results = {"platform": jax.devices()[0].platform, "cases": {}}
    for name in args.case:
        config_path, overrides = CASES[name]
        config_path += ":tiny" if args.tiny else ""
        if any("{folder}" in o for o in overrides):
            folder = folder or _photo_folder()
        if any("{tfds_dir}" in o for o in overrides):
            from benchmarks.tfds_local import build_photo_cifar
            tfds_dir = tfds_dir or build_photo_cifar(tempfile.mkdtemp(prefix="input_share_"))
        overrides = [o.format(folder=folder, tfds_dir=tfds_dir) for o in overrides]
        with _data_context(name):
            figures = measure(config_path, overrides, args.steps, args.rounds, args.prefetch)
        results["cases"][name] = figures
        shares = ", ".join(f"prefetch {d}: fed {figures['fed_ms'][d]} ms, input share "
                           f"{figures['input_share'][d]:.1%}" for d in figures["fed_ms"])
        print(f"{name}: step {figures['step_ms']} ms, batch alone {figures['batch_ms']} ms; "
              f"{shares}", flush=True)
        if args.out:  # after every case: a run stopped at a time limit keeps what it measured
            Path(args.out).write_text(json.dumps(results, indent=1) + "\n")


if __name__ == "__main__":
    main()
