"""Rematerialisation (`model.remat`): peak memory and step time of a family's train step under
each policy, in one process.

    python -m benchmarks.remat [--family edsr_baseline_x2 sngan_cifar10] [--batch N]
        [--policies none dots_saveable nothing_saveable] [--steps 10]

Two memory figures, both independent of the machine's load:
- residuals: what JAX keeps from the forward pass for the backward pass (the leaves of the
  loss's VJP closure, before XLA): what rematerialisation is meant to cut;
- peak: XLA's compiled memory analysis of the whole jitted step (arguments + outputs +
  temporaries - aliased bytes), what the device must hold. XLA:CPU removes remat's
  optimisation barriers and merges the recomputation back into the forward pass (its
  compiled step has the same convolutions with and without remat), so on a CPU this figure
  does not move; GPU and TPU compilers keep the recomputation.
Step time: median of --steps calls after one warm-up (compile excluded).
"""
import argparse
import functools
import statistics
import time


def measure(family, batch_size: int, policy: str, steps: int, device: str) -> dict:
    import jax
    from jresgen.config import apply_overrides
    from jresgen.tasks import get_task
    from jresgen.train.runs import optimizer_factory

    config = family.load_config(batch_size, device=device)
    apply_overrides(config, [f"model.remat={policy}"])
    task = get_task(config.task)
    batch = family.adapter.make_batch(config, batch_size)
    state = task.init_state(config, jax.random.PRNGKey(0), batch, optimizer_factory(config))
    step = jax.jit(functools.partial(task.train_step, config=config))
    compiled = step.lower(state, batch).compile()
    residuals = _residual_bytes(family, task, config, state, batch)
    mem = compiled.memory_analysis()
    peak = (mem.argument_size_in_bytes + mem.output_size_in_bytes + mem.temp_size_in_bytes
            - mem.alias_size_in_bytes)
    out = compiled(state, batch)
    jax.block_until_ready(out)
    times = []
    for _ in range(steps):
        t = time.perf_counter()
        jax.block_until_ready(compiled(state, batch))
        times.append(time.perf_counter() - t)
    return {"policy": policy, "residual_mb": residuals / 2 ** 20, "peak_mb": peak / 2 ** 20,
            "step_ms": 1e3 * statistics.median(times)}


def _residual_bytes(family, task, config, state, batch) -> int:
    """Bytes JAX saves from the forward pass for the backward pass: the leaves of the VJP
    closure of the family's training loss (SR: the loss the benchmark's breakdown uses; GAN:
    each network's output in training mode, G and D added), traced abstractly (nothing
    runs)."""
    import jax.numpy as jnp
    from jresgen.nn import residual_bytes

    def training_output(net, variables, *inputs):
        """params -> the net's training-mode output (its norm statistics updated aside)."""
        return lambda p: net.apply({"params": p, **variables}, *inputs, train=True,
                                   mutable=list(variables))[0]

    if config.task == "sr":
        loss = family.adapter.jax_loss(config, task.build_model(config), state.model_state)
        return residual_bytes(lambda p: loss(p, batch), state.params)
    if config.task == "gan":
        g, d = task.build_model(config)
        z = jnp.zeros((batch["image"].shape[0], config.model.z_dim))
        g_out = training_output(g, state.g_state, z)
        d_out = training_output(d, state.d_state, jnp.asarray(batch["image"][:, 0]))
        return (residual_bytes(lambda p: jnp.sum(g_out(p)), state.g_params)
                + residual_bytes(lambda p: jnp.sum(d_out(p)), state.d_params))
    raise SystemExit(f"benchmarks.remat measures the sr and gan families, not {config.task}")


def main(argv=None):
    import jresgen  # noqa: F401 - jresgen's XLA CPU defaults, as `jresgen train` has them
    from benchmarks.families import FAMILIES
    from jresgen.nn import REMAT_POLICIES

    p = argparse.ArgumentParser(prog="python -m benchmarks.remat")
    p.add_argument("--family", nargs="+", default=["edsr_baseline_x2", "sngan_cifar10"],
                   choices=sorted(FAMILIES))
    p.add_argument("--batch", type=int, help="global batch (default: the family's benchmark batch)")
    p.add_argument("--policies", nargs="+", choices=REMAT_POLICIES,
                   default=["none", "dots_saveable", "nothing_saveable"])
    p.add_argument("--steps", type=int, default=10)
    args = p.parse_args(argv)
    import jax
    device = "gpu" if jax.default_backend() == "gpu" else "cpu"
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()})")
    print("| family | batch | model.remat | residuals MB (JAX) | peak MB (XLA compiled) "
          "| step ms |")
    print("|---|---|---|---|---|---|")
    for name in args.family:
        family = FAMILIES[name]
        batch = args.batch or family.default_batch(device)
        for policy in args.policies:
            r = measure(family, batch, policy, args.steps, device)
            print(f"| {name} | {batch} | {policy} | {r['residual_mb']:.1f} | {r['peak_mb']:.1f} | "
                  f"{r['step_ms']:.1f} |", flush=True)


if __name__ == "__main__":
    main()
