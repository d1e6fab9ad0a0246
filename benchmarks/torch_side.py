"""The PyTorch side: the reference model with jresgen's initial weights, trained the way a
PyTorch user trains it (an nn loss, the torch.optim mirror of the config's optimizer,
zero_grad/backward/step), eager or with `torch.compile(model)`.

Runs inside a worker process; the thread count is set by the parent (see run.py)."""
import os
import resource

import numpy as np

from benchmarks import exchange
from benchmarks.timing import time_calls


def torch_device(device: str):
    import torch
    if device == "gpu":
        if not torch.cuda.is_available():
            raise SystemExit("--device gpu: torch sees no CUDA device")
        return torch.device("cuda")
    return torch.device("cpu")


def autocast(device, dtype: str):
    """bfloat16 the way PyTorch users get it and the way jresgen does it: float32 parameters,
    optimizer and loss; convolutions computed in bfloat16 (torch.autocast)."""
    import torch
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=dtype == "bfloat16")


def make_sync(device):
    import torch
    if device.type == "cuda":
        return lambda _: torch.cuda.synchronize()
    return lambda _: None  # CPU kernels return when their work is done


def make_optimizer(config, params):
    """torch.optim's version of the config's optax optimizer (jresgen.train.optim), at the
    config's learning rate; gradient clipping is not mirrored and is refused."""
    import torch
    opt = config.optimizer
    if opt.grad_clip_norm > 0:
        raise NotImplementedError("grad_clip_norm > 0 has no PyTorch mirror here")
    if opt.name == "adam":
        return torch.optim.Adam(params, lr=config.learning_rate, betas=(opt.b1, opt.b2),
                                eps=opt.eps)
    # jresgen decays only weights with ndim > 1 (jresgen.train.optim.decay_mask): the same
    # split as two parameter groups.
    params = list(params)
    groups = [{"params": [p for p in params if p.ndim > 1], "weight_decay": opt.weight_decay},
              {"params": [p for p in params if p.ndim <= 1], "weight_decay": 0.0}]
    groups = [g for g in groups if g["params"]]
    if opt.name == "adamw":  # optax.adamw and torch AdamW both decay decoupled, times the lr
        return torch.optim.AdamW(groups, lr=config.learning_rate, betas=(opt.b1, opt.b2),
                                 eps=opt.eps)
    if opt.name == "sgd":  # optax: decay added to the gradient before momentum, as torch does
        return torch.optim.SGD(groups, lr=config.learning_rate, momentum=opt.momentum,
                               nesterov=opt.nesterov)
    raise NotImplementedError(f"no PyTorch mirror for optimizer {opt.name!r}")


def build(family, config, exchange_dir, device):
    """The reference model with jresgen's weights; returns (model, relative forward error)."""
    import torch
    model = family.adapter.torch_model(config)
    rel_err = None
    if exchange_dir:
        params, expected = exchange.load(exchange_dir, family.name)
        family.adapter.load_params(model, params)
        batch = family.adapter.make_batch(config, config.batch_size)
        got = family.adapter.torch_check_output(config, model, batch)
        rel_err = float(np.abs(got - expected).max() / np.abs(expected).max())
    model.to(device).train()
    return model, rel_err


def train_step(family, config, batch_np, *, mode: str, device: str, dtype: str, warmup: int,
               steps: int, exchange_dir=None) -> dict:
    import torch
    dev = torch_device(device)
    model, rel_err = build(family, config, exchange_dir, dev)
    x, y = family.adapter.torch_batch(config, batch_np, dev, torch.float32)
    result = {"params": sum(p.numel() for p in model.parameters()),
              "forward_rel_error_vs_jresgen": rel_err, "mode": mode,
              "threads": torch.get_num_threads()}
    if mode == "eager":
        result["flops_torch"] = family.adapter.torch_flops(config, model, x, y, dev, dtype)
    # zero_grad, loss, backward, optimizer step(s): families.Adapter.torch_step
    step = family.adapter.torch_step(config, model, mode, dev, dtype)
    losses = []

    def call():
        loss = step(x, y)
        losses.append(loss.detach())
        return loss

    rss_before = _rss_mb()
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()
    try:
        timing = time_calls(call, make_sync(dev), warmup=warmup, steps=steps)
    except Exception as e:  # torch.compile can fail (no compiler, unsupported op): record it
        result["error"] = f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"
        return result
    result.update(timing)
    result["compile_s"] = timing["first_call_s"] - timing["median_s"]
    result["loss_first"], result["loss_last"] = float(losses[0]), float(losses[-1])
    result["memory"] = {"process_peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                        / 1024, "rss_before_first_step_mb": rss_before}
    if dev.type == "cuda":
        result["memory"]["device_peak_mb"] = torch.cuda.max_memory_allocated() / 2 ** 20
    return result


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2 ** 20


def matmul_peak(device: str, dtype: str, n: int, steps: int = 10) -> dict:
    import torch
    dev = torch_device(device)
    dt = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    a = torch.ones((n, n), device=dev, dtype=dt)
    b = torch.ones((n, n), device=dev, dtype=dt)
    t = time_calls(lambda: a @ b, make_sync(dev), warmup=2, steps=steps)
    return {"n": n, "median_s": t["median_s"], "flops_per_s": 2 * n ** 3 / t["median_s"],
            "other_cpu_load": t["other_cpu_load"], "steal_cpu": t["steal_cpu"]}


def breakdown(family, config, batch_np, *, device: str, dtype: str, warmup: int,
              steps: int) -> dict:
    """The same cuts as jax_side.breakdown: forward, forward+backward, one conv's three passes."""
    import torch
    dev = torch_device(device)
    model, _ = build(family, config, None, dev)
    loss_fn = family.adapter.device_loss(config, dev)
    x, y = family.adapter.torch_batch(config, batch_np, dev, torch.float32)
    sync = make_sync(dev)

    def forward():
        with torch.no_grad(), autocast(dev, dtype):  # inference: no activations saved
            return model(x)

    def forward_with_graph():
        with autocast(dev, dtype):
            return model(x)

    def forward_backward():
        model.zero_grad(set_to_none=True)
        with autocast(dev, dtype):
            loss = loss_fn(model(x), y)
        loss.backward()
        return loss
    optimizer = make_optimizer(config, model.parameters())

    def step():
        optimizer.zero_grad(set_to_none=True)
        with autocast(dev, dtype):
            loss = loss_fn(model(x), y)
        loss.backward()
        optimizer.step()
        return loss
    out = {"forward": time_calls(forward_with_graph, sync, warmup=warmup, steps=steps),
           "forward_no_grad": time_calls(forward, sync, warmup=warmup, steps=steps),
           "forward_backward": time_calls(forward_backward, sync, warmup=warmup, steps=steps),
           "step": time_calls(step, sync, warmup=warmup, steps=steps)}
    dt = torch.bfloat16 if dtype == "bfloat16" else torch.float32
    out.update(_conv_passes(family.adapter.conv_probe(config, batch_np), dev, dt, warmup, steps))
    return out


def _conv_passes(shape, dev, dt, warmup, steps) -> dict:
    import torch
    from torch.nn.grad import conv2d_input, conv2d_weight
    b, h, w, cin, cout, kk = shape
    g = torch.Generator().manual_seed(0)
    x = torch.randn((b, cin, h, w), generator=g).to(dev, dt)
    k = (torch.randn((cout, cin, kk, kk), generator=g) * 0.05).to(dev, dt)
    dy = torch.randn((b, cout, h, w), generator=g).to(dev, dt)
    conv = torch.nn.functional.conv2d
    pad = kk // 2
    sync = make_sync(dev)
    with torch.no_grad():
        return {"conv_shape": list(shape),
                "conv_forward": time_calls(lambda: conv(x, k, padding=pad), sync, warmup=warmup,
                                           steps=steps),
                "conv_input_grad": time_calls(
                    lambda: conv2d_input(x.shape, k, dy, padding=pad), sync, warmup=warmup,
                    steps=steps),
                "conv_weight_grad": time_calls(
                    lambda: conv2d_weight(x, k.shape, dy, padding=pad), sync, warmup=warmup,
                    steps=steps)}
