"""The PyTorch references in benchmarks/ are the same models as jresgen's: equal parameter
counts, equal forward outputs with transferred weights, equal loss and gradients, equal FLOPs.
The benchmark's speed comparison means something only while these hold."""
import functools

import jax
import numpy as np
import pytest

torch = pytest.importorskip("torch")
# benchmarks/ is not part of the installed package: pyproject's `pythonpath` puts the
# repository root on sys.path for pytest.
from benchmarks import families  # noqa: E402
from benchmarks.flops import analytic_flops  # noqa: E402
from benchmarks.torch_reference.resize import BicubicUpsample  # noqa: E402
from jresgen.nn import count_params  # noqa: E402

SR_FAMILIES = [name for name, f in families.FAMILIES.items() if f.adapter is families.SRAdapter]
REL_TOL = 1e-4  # float32, relative to the largest output magnitude


def _perturbed_variables(family, config, batch, seed=0):
    """jresgen's initial variables plus noise, so zero-initialised layers (the bicubic-skip
    tail) and default BatchNorm statistics do not hide a transfer mistake."""
    from jresgen.tasks import get_task
    model = get_task(config.task).build_model(config)
    # jitted: op-by-op dispatch would compile every op separately and take seconds
    init = jax.jit(lambda rng, args: model.init(rng, *args, train=False))
    variables = init(jax.random.PRNGKey(seed), family.adapter.model_args(config, batch))
    rng = np.random.default_rng(seed)  # numpy: one jax.random call per shape would compile
    noise = {"params": lambda p: p + 0.02 * rng.standard_normal(p.shape, dtype=np.float32),
             "batch_stats": lambda s: s + 0.1 * np.abs(rng.standard_normal(s.shape,
                                                                           dtype=np.float32))}
    return model, {k: jax.tree.map(noise[k], v) for k, v in variables.items()}


def _small(name, batch=2, patch=8):
    """A family's config and batch at a test-sized batch (and SR patch)."""
    family = families.get(name)
    config = family.load_config(batch)
    if family.adapter is families.SRAdapter:
        config.data.patch_size = patch
    return family, config, family.adapter.make_batch(config, batch, seed=3)


def _shrink(family, config):
    """The same architecture at toy width and depth (strided stages and projection shortcuts
    kept): for the tests that compile a whole train step, where compile time dominates."""
    m = config.model
    if family.adapter is families.SRAdapter:
        m.num_blocks, m.features = 1, 8
    elif family.adapter is families.VAEAdapter:
        m.latent_dim, m.features = 4, (8, 8)
    elif m.arch == "lenet":
        m.conv_features, m.hidden = (4, 8), (16, 16)
    else:
        m.arch, m.stage_sizes, m.stage_features = "resnet", (1, 1, 1), (4, 8, 8)
    return config


def _nhwc(t):
    return t.detach().permute(0, 2, 3, 1).numpy()


def _rel_err(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


@pytest.mark.parametrize("name", list(families.FAMILIES))
@pytest.mark.parametrize("train", [False, True])
def test_reference_matches_jresgen(name, train):
    """Equal parameter counts; equal outputs with transferred weights, in eval mode (BatchNorm
    running statistics transferred too) and in train mode (batch statistics)."""
    from benchmarks.torch_reference import transfer
    family, config, batch = _small(name)
    model, variables = _perturbed_variables(family, config, batch)
    reference = family.adapter.torch_model(config)
    assert sum(p.numel() for p in reference.parameters()) == count_params(variables["params"])
    if "batch_stats" in variables:
        transfer.load_classifier(reference, variables["params"], variables["batch_stats"])
    else:
        family.adapter.load_params(reference, variables["params"])
    reference.train(train)
    mutable = ["batch_stats"] if train and "batch_stats" in variables else False
    args = family.adapter.model_args(config, batch)
    expected = jax.jit(lambda v, a: model.apply(v, *a, train=train, mutable=mutable))(
        variables, args)
    expected = family.adapter.jax_output(expected[0] if mutable else expected)
    x, _ = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    extra = [torch.from_numpy(a) for a in args[1:]]  # the VAE's eps
    with torch.no_grad():
        got = family.adapter.torch_output(reference(x, *extra))
    assert got.shape == expected.shape
    assert _rel_err(got, expected) <= REL_TOL


@pytest.mark.parametrize("scale,shape", [(2, (5, 7)), (3, (4, 4)), (4, (6, 3))])
def test_bicubic_upsample_matches_jax_resize(scale, shape):
    h, w = shape
    x = np.random.default_rng(0).random((2, h, w, 3), dtype=np.float32)
    expected = jax.image.resize(x, (2, h * scale, w * scale, 3), "cubic")
    got = _nhwc(BicubicUpsample(scale)(torch.from_numpy(x).permute(0, 3, 1, 2)))
    assert _rel_err(got, expected) <= REL_TOL


@pytest.mark.parametrize("name", ["sr_x2", "lenet_digits", "resnet20_cifar10", "vae_digits"])
def test_loss_gradients_and_one_optimizer_step_match(name):
    """Same loss, same gradients, and one step of the config's optax optimizer (Adam, AdamW,
    SGD with momentum and weight decay) == its torch.optim mirror, BatchNorm included."""
    from benchmarks.torch_reference import transfer
    from benchmarks.torch_side import make_optimizer as torch_optimizer
    from jresgen.tasks import get_task
    from jresgen.tasks.state import TrainState, step_rng
    from jresgen.train.optim import make_optimizer
    family, config, batch = _small(name, batch=4)
    _shrink(family, config)
    task = get_task(config.task)
    model, variables = _perturbed_variables(family, config, batch)
    params = variables.pop("params")
    tx, _ = make_optimizer(config.optimizer, config.learning_rate, config.total_steps)
    state = TrainState.create(params=params, tx=tx, rng=jax.random.PRNGKey(0),
                              model_state=variables)
    loss_batch, extra = batch, []
    if family.adapter is families.VAEAdapter:  # the eps jresgen's step draws, given to torch
        eps = np.array(task.sample_eps(step_rng(state), np.arange(4), config.model.latent_dim))
        loss_batch, extra = {**batch, "eps": eps}, [torch.from_numpy(eps)]
    loss, grads = jax.jit(jax.value_and_grad(family.adapter.jax_loss(config, model, variables)))(
        params, loss_batch)

    def torch_model(tree):
        m = family.adapter.torch_model(config)
        if "batch_stats" in variables:
            transfer.load_classifier(m, tree, variables["batch_stats"])
        else:
            family.adapter.load_params(m, tree)
        return m
    reference = torch_model(params).train()
    optimizer = torch_optimizer(config, reference.parameters())
    x, y = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    torch_loss = family.adapter.torch_loss(config)(reference(x, *extra), y)
    torch_loss.backward()
    assert abs(torch_loss.item() - float(loss)) <= REL_TOL * abs(float(loss))
    # jresgen's gradients loaded as if they were weights: the same layout as torch's .grad
    for (n, p), (_, g) in zip(reference.named_parameters(), torch_model(grads).named_parameters()):
        g = g.detach()
        scale = float(g.abs().max()) + 1e-12
        assert float((p.grad - g).abs().max()) <= REL_TOL * scale + 1e-7, n
    optimizer.step()

    state, _ = jax.jit(functools.partial(task.train_step, config=config))(state, batch)
    # Adam's first step moves every weight by ~lr * sign(grad): equal signs, equal weights.
    for (n, p), (_, q) in zip(reference.named_parameters(),
                              torch_model(state.params).named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0,
                                   atol=1e-2 * config.learning_rate, err_msg=n)


@pytest.mark.parametrize("name", list(families.FAMILIES))
def test_analytic_flops_match_torch_flop_counter(name):
    """The one count both sides' utilisation uses agrees with PyTorch's own counter."""
    from torch.utils.flop_counter import FlopCounterMode
    family, config, batch = _small(name)
    _shrink(family, config)
    model, variables = _perturbed_variables(family, config, batch)
    params = variables.pop("params")
    loss = family.adapter.jax_loss(config, model, variables)
    jax_flops = analytic_flops(jax.grad(loss), params, batch)
    reference = family.adapter.torch_model(config)
    x, y = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    counter = FlopCounterMode(display=False)
    with counter:
        family.adapter.torch_loss(config)(reference(x), y).backward()
    assert jax_flops == counter.get_total_flops()
