"""One measurement in a fresh process: `python -m benchmarks.worker SPEC.json OUT.json`.

A fresh process per measurement because XLA reads XLA_FLAGS once per process, because per-
process peak memory is only honest when nothing else ran in that process first, and because
JAX's and PyTorch's thread pools should not share a process while the other one is timed.
The parent (run.py) sets the environment: XLA flags, thread count, CPU affinity.
"""
import json
import os
import sys
import traceback


def main(spec_path: str, out_path: str) -> None:
    with open(spec_path) as f:
        spec = json.load(f)
    threads = spec["threads"]
    if spec["kind"].endswith("torch") and spec["device"] == "gpu":
        # The PyTorch side uses JAX only to make its batch and check its weights: on the CPU,
        # so JAX's GPU allocator (75 % of the card, taken at start) leaves the card to PyTorch.
        os.environ["JAX_PLATFORMS"] = "cpu"
    if spec["device"] == "cpu":
        # Both libraries size their thread pools from the CPUs this process may use.
        cpus = sorted(os.sched_getaffinity(0))[:threads]
        os.sched_setaffinity(0, cpus)
    try:
        result = run(spec)
    except Exception as e:  # one failed measurement must not lose the others
        result = {"error": f"{type(e).__name__}: {e}", "traceback": traceback.format_exc()}
    result["spec"] = spec
    with open(out_path, "w") as f:
        json.dump(result, f)


def run(spec: dict) -> dict:
    kind = spec["kind"]
    common = dict(device=spec["device"], dtype=spec["dtype"])
    if kind.endswith("torch"):
        import torch
        torch.set_num_threads(spec["threads"])
    if kind == "peak_jax":
        from benchmarks import jax_side
        return jax_side.matmul_peak(n=spec["matmul_n"], **common)
    if kind == "peak_torch":
        from benchmarks import torch_side
        return torch_side.matmul_peak(n=spec["matmul_n"], **common)

    from benchmarks import families
    family = families.get(spec["family"])
    config = family.load_config(spec["batch"], spec["dtype"], spec["device"])
    batch = family.adapter.make_batch(config, spec["batch"])
    timing = dict(warmup=spec["warmup"], steps=spec["steps"], **common)
    if kind == "train_jax":
        from benchmarks import jax_side
        return jax_side.train_step(family, config, batch, strategy=spec["parallelism"],
                                   exchange_dir=spec.get("exchange_dir"), **timing)
    if kind == "train_torch":
        from benchmarks import torch_side
        return torch_side.train_step(family, config, batch, mode=spec["mode"],
                                     exchange_dir=spec.get("exchange_dir"), **timing)
    if kind == "breakdown_jax":
        from benchmarks import jax_side
        return jax_side.breakdown(family, config, batch, **timing)
    if kind == "breakdown_torch":
        from benchmarks import torch_side
        return torch_side.breakdown(family, config, batch, **timing)
    raise ValueError(f"unknown worker kind {kind!r}")


if __name__ == "__main__":
    main(*sys.argv[1:3])
