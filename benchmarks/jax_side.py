"""The jresgen side: the real train step (jresgen.tasks.<task>.train_step) compiled by the
real parallelism strategy (jresgen.train.parallel), exactly as `jresgen train` runs it.

Runs inside a worker process whose XLA_FLAGS were fixed by the parent before JAX started.
"""
import functools
import os
import resource

import numpy as np

from benchmarks import exchange
from benchmarks.flops import analytic_flops, xla_flops
from benchmarks.timing import time_calls


def jax_devices(device: str):
    import jax
    return jax.devices("gpu" if device == "gpu" else "cpu")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def _setup(family, config, batch_np, device, dtype):
    import jax
    from jresgen.tasks import get_task
    from jresgen.train.runs import optimizer_factory
    task = get_task(config.task)
    # what `jresgen train` passes: the config's optimizer, or per-network sections (a GAN's)
    make_tx = optimizer_factory(config)
    # --dtype reaches this side as config.model.dtype (set by Family.load_config): jresgen's
    # own mixed precision, float32 parameters and bfloat16 computation.
    with jax.default_device(jax_devices(device)[0]):
        state = task.init_state(config, jax.random.PRNGKey(config.seed), batch_np, make_tx)
    return task, state, batch_np


def train_step(family, config, batch_np, *, strategy: str, device: str, dtype: str,
               warmup: int, steps: int, exchange_dir=None) -> dict:
    import jax
    from jresgen.nn import count_params
    from jresgen.train.parallel import make_strategy
    task, state, batch = _setup(family, config, batch_np, device, dtype)
    result = {"params": count_params(family.adapter.jax_params(state))}
    if exchange_dir:  # parameters and a forward output for the PyTorch side to load and check
        check_config = config.copy_and_resolve_references()
        if "dtype" in check_config.model:  # the output check is float32 on both sides
            check_config.model.dtype = "float32"
        tree, out = family.adapter.jax_export(task, check_config, state, batch_np)
        exchange.save(exchange_dir, family.name, tree, out)

    # FLOPs of the same step on one device, from its jaxpr and from XLA's compiled executable.
    single = functools.partial(task.train_step, config=config, axis_name=None)
    result["flops_analytic"] = analytic_flops(single, state, batch)
    try:
        result["flops_xla"] = xla_flops(jax.jit(single).lower(state, batch).compile())
    except Exception as e:  # cost analysis is best-effort on some backends
        result["flops_xla"], result["flops_xla_error"] = None, f"{type(e).__name__}: {e}"

    strat = make_strategy(strategy, jax_devices(device))
    step = strat.compile(functools.partial(task.train_step, config=config,
                                           axis_name=strat.axis_name))
    holder = {"state": strat.replicate(state)}
    del state  # the run holds one copy of the state, as `jresgen train` does
    dbatch = strat.shard(batch)
    losses = []  # device scalars, read after timing so no host transfer is timed

    def call():
        holder["state"], metrics = step(holder["state"], dbatch)
        losses.append(metrics["loss"])
        return holder["state"], metrics

    rss_before = _rss_mb()
    timing = time_calls(call, jax.block_until_ready, warmup=warmup, steps=steps)
    result.update(timing)
    # Trace + compile + one step, less one step: what a user waits before training starts.
    result["compile_s"] = timing["first_call_s"] - timing["median_s"]
    result["loss_first"], result["loss_last"] = (strat.metrics_to_host({"loss": loss})["loss"]
                                                 for loss in (losses[0], losses[-1]))
    result["memory"] = _memory(jax_devices(device)[0], rss_before)
    result["devices"] = strat.num_devices
    result["xla_flags"] = os.environ.get("XLA_FLAGS", "")
    return result


def _memory(device, rss_before) -> dict:
    stats = device.memory_stats() if hasattr(device, "memory_stats") else None
    out = {"process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
           "rss_before_first_step_mb": rss_before}
    if stats and "peak_bytes_in_use" in stats:
        out["device_peak_mb"] = stats["peak_bytes_in_use"] / 2 ** 20
    return out


def matmul_peak(device: str, dtype: str, n: int, steps: int = 10) -> dict:
    """FLOP/s of one large square matmul: this machine's practical ceiling for dense math."""
    import jax
    import jax.numpy as jnp
    dev = jax_devices(device)[0]
    dt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
    a = jax.device_put(jnp.ones((n, n), dt), dev)
    b = jax.device_put(jnp.ones((n, n), dt), dev)
    f = jax.jit(jnp.dot)
    t = time_calls(lambda: f(a, b), jax.block_until_ready, warmup=2, steps=steps)
    return {"n": n, "median_s": t["median_s"], "flops_per_s": 2 * n ** 3 / t["median_s"],
            "other_cpu_load": t["other_cpu_load"], "steal_cpu": t["steal_cpu"]}


def breakdown(family, config, batch_np, *, device: str, dtype: str, warmup: int,
              steps: int) -> dict:
    """Where the step's time goes: forward only, forward+backward, and one of the net's
    F->F 3x3 convolutions split into forward, input-gradient and weight-gradient passes."""
    import jax
    import jax.numpy as jnp
    task, state, batch = _setup(family, config, batch_np, device, dtype)
    model = task.build_model(config)
    variables = {"params": state.params, **state.model_state}
    x = family.adapter.model_args(config, batch)
    # Training mode; BatchNorm's statistics update is computed and returned, as in the step.
    forward = jax.jit(lambda v, x: model.apply(v, *x, train=True,
                                               mutable=list(state.model_state)))
    grad = jax.jit(jax.value_and_grad(family.adapter.jax_loss(config, model, state.model_state)))
    sync = jax.block_until_ready
    out = {"forward": time_calls(lambda: forward(variables, x), sync, warmup=warmup, steps=steps),
           "forward_backward": time_calls(lambda: grad(state.params, batch), sync,
                                          warmup=warmup, steps=steps)}
    # The whole step again in this process, so the cuts above compare with it directly
    # (timings of separate processes on a shared VM drift by 10-20 %).
    step = jax.jit(functools.partial(task.train_step, config=config), donate_argnums=0)
    holder = {"state": jax.tree.map(jnp.copy, state)}

    def call():
        holder["state"], metrics = step(holder["state"], batch)
        return metrics
    out["step"] = time_calls(call, sync, warmup=warmup, steps=steps)
    out.update(_conv_passes(family.adapter.conv_probe(config, batch_np), dtype, warmup, steps))
    return out


def _conv_passes(shape, dtype, warmup, steps) -> dict:
    """shape = (batch, height, width, C_in, C_out, kernel) of the net's dominant convolution."""
    import jax
    import jax.numpy as jnp
    b, h, w, cin, cout, kk = shape
    dt = jnp.bfloat16 if dtype == "bfloat16" else jnp.float32
    rng = np.random.default_rng(0)
    x = jnp.asarray(rng.standard_normal((b, h, w, cin)), dt)
    k = jnp.asarray(rng.standard_normal((kk, kk, cin, cout)) * 0.05, dt)
    dy = jnp.asarray(rng.standard_normal((b, h, w, cout)), dt)

    def conv(x, k):
        return jax.lax.conv_general_dilated(x, k, (1, 1), "SAME",
                                            dimension_numbers=("NHWC", "HWIO", "NHWC"))
    fwd = jax.jit(conv)
    dx = jax.jit(lambda x, k, dy: jax.vjp(lambda x: conv(x, k), x)[1](dy)[0])
    dk = jax.jit(lambda x, k, dy: jax.vjp(lambda k: conv(x, k), k)[1](dy)[0])
    sync = jax.block_until_ready
    return {"conv_shape": list(shape),
            "conv_forward": time_calls(lambda: fwd(x, k), sync, warmup=warmup, steps=steps),
            "conv_input_grad": time_calls(lambda: dx(x, k, dy), sync, warmup=warmup, steps=steps),
            "conv_weight_grad": time_calls(lambda: dk(x, k, dy), sync, warmup=warmup,
                                           steps=steps)}
