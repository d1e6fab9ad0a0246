"""Mixed precision (`model.dtype`): step time of float32 and bfloat16 runs of one config, and
how far the bfloat16 run's loss drifts from the float32 run's on the same batches.

    python -m benchmarks.precision [--config configs/sr_x2.py] [--steps 300] [--window 10]

Both runs start from the same initial parameters and see the same batches, so the only
difference is the computation dtype (parameters, optimizer and loss stay float32). Drift: the
largest relative difference between the two runs' losses averaged over each window of steps
(tests/test_train_loop.py holds sr_x2:tiny to 2 %). Step time: median of the jitted step after
the first call (compile excluded), the batch already on the device.
"""
import argparse
import functools
import statistics
import time

import numpy as np


def run(config_path: str, dtype: str, steps: int) -> dict:
    import jax

    from jresgen import data as datasets
    from jresgen.config import load_config
    from jresgen.tasks import get_task
    from jresgen.train.runs import optimizer_factory

    config = load_config(config_path, [f"model.dtype={dtype}", f"total_steps={steps}"])
    task = get_task(config.task)
    source, _ = datasets.build(config)
    state = task.init_state(config, jax.random.PRNGKey(0), source.batch(0),
                            optimizer_factory(config))
    step = jax.jit(functools.partial(task.train_step, config=config), donate_argnums=0)
    batches = [jax.device_put(source.batch(i)) for i in range(steps)]
    losses, times = [], []
    for batch in batches:
        start = time.perf_counter()
        state, metrics = step(state, batch)
        jax.block_until_ready(metrics)
        times.append(time.perf_counter() - start)
        losses.append(metrics["loss"])
    return {"losses": np.asarray(jax.device_get(losses), np.float64),
            "step_ms": 1e3 * statistics.median(times[1:])}


def main(argv=None):
    import jresgen  # noqa: F401 - jresgen's XLA CPU defaults, as `jresgen train` has them
    import jax

    p = argparse.ArgumentParser(prog="python -m benchmarks.precision")
    p.add_argument("--config", default="configs/sr_x2.py")
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--window", type=int, default=10)
    args = p.parse_args(argv)
    f32, bf16 = (run(args.config, dtype, args.steps) for dtype in ("float32", "bfloat16"))
    n = args.steps // args.window * args.window

    def windows(losses):
        return losses[:n].reshape(-1, args.window).mean(axis=1)

    drift = np.abs(windows(bf16["losses"]) / windows(f32["losses"]) - 1)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}); "
          f"config {args.config}, {args.steps} steps")
    print("| dtype | step ms | loss, first → last window |")
    print("|---|---|---|")
    for name, r in (("float32", f32), ("bfloat16", bf16)):
        w = windows(r["losses"])
        print(f"| {name} | {r['step_ms']:.2f} | {w[0]:.4f} → {w[-1]:.4f} |")
    print(f"bfloat16 speed-up {f32['step_ms'] / bf16['step_ms']:.2f}x; loss drift: max "
          f"{100 * drift.max():.2f} % over {args.window}-step windows "
          f"(last window {100 * drift[-1]:.2f} %)")


if __name__ == "__main__":
    main()
