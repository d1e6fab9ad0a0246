"""The PyTorch references in benchmarks/ are the same models as jresgen's: equal parameter
counts, equal forward outputs with transferred weights, equal loss and gradients, equal FLOPs.
The benchmark's speed comparison means something only while these hold."""
import functools
import sys
from pathlib import Path

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
# benchmarks/ is not part of the installed package; plain `pytest` does not put the repository
# root on sys.path (`python -m pytest` does).
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks import families  # noqa: E402
from benchmarks.flops import analytic_flops  # noqa: E402
from benchmarks.torch_reference.resize import BicubicUpsample  # noqa: E402
from jresgen.nn import count_params  # noqa: E402

SR_FAMILIES = [name for name, f in families.FAMILIES.items() if f.adapter is families.SRAdapter]
REL_TOL = 1e-4  # float32, relative to the largest output magnitude


def _perturbed_params(config, batch, seed=0):
    """jresgen's initial parameters plus noise, so zero-initialised layers (the bicubic-skip
    tail) are exercised too."""
    from jresgen.tasks import get_task
    model = get_task(config.task).build_model(config)
    # jitted: op-by-op dispatch would compile every op separately and take seconds
    init = jax.jit(lambda rng, x: model.init(rng, x, train=False))
    params = init(jax.random.PRNGKey(seed), batch["lr"])["params"]
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(jax.random.PRNGKey(seed + 1), len(leaves))
    leaves = [p + 0.02 * jax.random.normal(k, p.shape) for p, k in zip(leaves, keys)]
    return model, jax.tree.unflatten(tree, leaves)


def _small(name, batch=2, patch=8):
    family = families.get(name)
    config = family.load_config(batch)
    config.data.patch_size = patch
    return family, config, family.adapter.make_batch(config, batch, seed=3)


def _nhwc(t):
    return t.detach().permute(0, 2, 3, 1).numpy()


def _rel_err(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


@pytest.mark.parametrize("name", SR_FAMILIES)
def test_sr_reference_matches_jresgen(name):
    family, config, batch = _small(name)
    model, params = _perturbed_params(config, batch)
    reference = family.adapter.torch_model(config)
    assert sum(p.numel() for p in reference.parameters()) == count_params(params)
    family.adapter.load_params(reference, params)
    expected = jax.jit(lambda p, x: model.apply({"params": p}, x))(params, batch["lr"])
    x, _ = family.adapter.torch_batch(batch, "cpu", torch.float32)
    with torch.no_grad():
        got = _nhwc(reference(x))
    assert got.shape == expected.shape
    assert _rel_err(got, expected) <= REL_TOL


@pytest.mark.parametrize("scale,shape", [(2, (5, 7)), (3, (4, 4)), (4, (6, 3))])
def test_bicubic_upsample_matches_jax_resize(scale, shape):
    h, w = shape
    x = np.random.default_rng(0).random((2, h, w, 3), dtype=np.float32)
    expected = jax.image.resize(x, (2, h * scale, w * scale, 3), "cubic")
    got = _nhwc(BicubicUpsample(scale)(torch.from_numpy(x).permute(0, 3, 1, 2)))
    assert _rel_err(got, expected) <= REL_TOL


def test_loss_gradients_and_one_adam_step_match():
    """Same loss, same gradients, and one step of optax.adam == torch.optim.Adam."""
    from jresgen.tasks import get_task
    from jresgen.tasks.state import TrainState
    from jresgen.train.optim import make_optimizer
    family, config, batch = _small("sr_x2", batch=2, patch=8)
    config.model.num_blocks, config.model.features = 1, 8
    task = get_task(config.task)
    model, params = _perturbed_params(config, batch)
    loss, grads = jax.jit(jax.value_and_grad(family.adapter.jax_loss(config, model, {})))(
        params, batch)

    reference = family.adapter.torch_model(config)
    family.adapter.load_params(reference, params)
    opt = config.optimizer
    adam = torch.optim.Adam(reference.parameters(), lr=config.learning_rate,
                            betas=(opt.b1, opt.b2), eps=opt.eps)
    x, y = family.adapter.torch_batch(batch, "cpu", torch.float32)
    torch_loss = family.adapter.torch_loss(config)(reference(x), y)
    torch_loss.backward()
    assert abs(torch_loss.item() - float(loss)) <= REL_TOL * abs(float(loss))
    torch_grads = {n: p.grad.clone() for n, p in reference.named_parameters()}
    assert _rel_err(torch_grads["head.weight"].permute(2, 3, 1, 0).numpy(),
                    grads["head"]["kernel"]) <= REL_TOL
    assert _rel_err(torch_grads["tail.bias"].numpy(), grads["tail"]["bias"]) <= REL_TOL
    adam.step()

    tx, _ = make_optimizer(config.optimizer, config.learning_rate, config.total_steps)
    state = TrainState.create(params=params, tx=tx, rng=jax.random.PRNGKey(0))
    state, _ = jax.jit(functools.partial(task.train_step, config=config))(state, batch)
    after = family.adapter.torch_model(config)
    family.adapter.load_params(after, state.params)
    # Adam's first step moves every weight by ~lr * sign(grad); equal signs give equal weights.
    for (n, p), (_, q) in zip(reference.named_parameters(), after.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0,
                                   atol=1e-2 * config.learning_rate, err_msg=n)


def test_analytic_flops_match_torch_flop_counter():
    """The one count both sides' utilisation uses agrees with PyTorch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode
    family, config, batch = _small("sr_seed_net", batch=2, patch=8)
    model, params = _perturbed_params(config, batch)
    loss = family.adapter.jax_loss(config, model, {})
    jax_flops = analytic_flops(jax.grad(loss), params, batch)
    reference = family.adapter.torch_model(config)
    x, y = family.adapter.torch_batch(batch, "cpu", torch.float32)
    counter = FlopCounterMode(display=False)
    with counter:
        family.adapter.torch_loss(config)(reference(x), y).backward()
    assert jax_flops == counter.get_total_flops()
