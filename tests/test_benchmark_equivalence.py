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
GAN_FAMILIES = [name for name, f in families.FAMILIES.items()
                if f.adapter is families.GANAdapter]
ONE_MODEL_FAMILIES = [name for name in families.FAMILIES if name not in GAN_FAMILIES]
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
    elif family.adapter is families.TextureNetAdapter:
        m.scales, m.features = 3, 4
        config.data.patch_size = 32  # a multiple of 2^(scales-1); the two feature scales need 10
        config.features.layers = (0, 1)
    elif family.adapter is families.StyleAdapter:
        m.features, m.num_blocks = (4, 8, 8), 1
        config.data.patch_size = 48  # a multiple of 4, and the 4 feature scales need 40
    elif m.arch == "lenet":
        m.conv_features, m.hidden = (4, 8), (16, 16)
    else:
        m.arch, m.stage_sizes, m.stage_features = "resnet", (1, 1, 1), (4, 8, 8)
    return config


def _nhwc(t):
    return t.detach().permute(0, 2, 3, 1).numpy()


def _rel_err(a, b):
    return float(np.abs(np.asarray(a) - np.asarray(b)).max() / np.abs(np.asarray(b)).max())


@pytest.mark.parametrize("name", ONE_MODEL_FAMILIES)
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


def _dead_parameters(family, reference) -> set:
    """Parameters whose gradient is zero in exact arithmetic: in TransformerNet, every bias that
    adds a per-channel constant an instance norm then subtracts: the conv biases before a norm,
    and each residual block's last norm bias, a constant on the residual stream, which reaches
    the first upsampling conv's norm unchanged but for such constants."""
    if family.adapter is families.TextureNetAdapter:
        return _dead_texture_net_parameters(reference)
    if family.adapter is not families.StyleAdapter:
        return set()
    return {n for n, _ in reference.named_parameters()
            if (n.endswith("conv2d.bias") and not n.startswith("deconv3."))
            or (n.startswith("res.") and n.endswith(".in2.bias"))}


def _dead_texture_net_parameters(reference) -> set:
    """With circular padding a convolution maps a per-channel constant to a constant, which the
    next instance norm removes: the noise convs' biases and the biases that end a residual
    block (its last norm's, its shortcut norm's) are dead, except in the last join block,
    whose output reaches the image. With zero padding the borders make them live."""
    if reference.noise_convs[0].padding_mode != "circular":
        return set()
    block_end = (".norm2.bias", ".shortcut.1.bias")
    return {n for n, _ in reference.named_parameters()
            if n.startswith("noise_convs.") and n.endswith(".bias")
            or n.endswith(block_end) and not n.startswith("join_blocks.0.")}


def _assert_same_gradients(family, reference, grads_as_model, rel_tol) -> set:
    """torch's .grad of `reference` against jresgen's gradients loaded into a second torch
    model as if they were weights (the same layout as .grad). Dead parameters (zero gradient
    in exact arithmetic) must only be ~0 on both sides: both return rounding noise. Returns
    the dead parameters' names."""
    dead = _dead_parameters(family, reference)
    largest = max(float(g.abs().max()) for g in grads_as_model.parameters())
    for (n, p), (_, g) in zip(reference.named_parameters(), grads_as_model.named_parameters()):
        g = g.detach()
        if n in dead:
            assert float(g.abs().max()) <= 1e-3 * largest, n
            assert float(p.grad.abs().max()) <= 1e-3 * largest, n
            continue
        scale = float(g.abs().max()) + 1e-12
        assert float((p.grad - g).abs().max()) <= rel_tol * scale + 1e-7, n
    return dead


@pytest.mark.parametrize("name", ["sr_x2", "lenet_digits", "resnet20_cifar10", "vae_digits",
                                  "style_transfer"])
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
    fixed = variables
    if family.adapter is families.StyleAdapter:  # the filters and style Grams init_state keeps
        from jresgen.tasks.style_transfer import style_statistics
        fixed = style_statistics(config)
    state = TrainState.create(params=params, tx=tx, rng=jax.random.PRNGKey(0), model_state=fixed)
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
    dead = _assert_same_gradients(family, reference, torch_model(grads), REL_TOL)
    optimizer.step()

    state, _ = jax.jit(functools.partial(task.train_step, config=config))(state, batch)
    # Adam's first step moves every weight by ~lr * sign(grad): equal signs, equal weights.
    for (n, p), (_, q) in zip(reference.named_parameters(),
                              torch_model(state.params).named_parameters()):
        if n in dead:  # Adam moves them by lr * sign(noise)
            continue
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0,
                                   atol=1e-2 * config.learning_rate, err_msg=n)


@pytest.mark.parametrize("name", ONE_MODEL_FAMILIES)
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


# ---- GANs: two networks, one step of n_dis D updates and one G update ----

@pytest.fixture
def fast_compile():
    """The GAN tests pay for compiling a whole GAN step, not for running it."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


def _gan_small(name, batch=3):
    """A GAN family at toy width (its layout, resolution, loss and optimizers kept), n_dis <= 2,
    with jresgen's initial state plus noise on the weights and the BatchNorm statistics."""
    from jresgen.tasks import gan
    from jresgen.train.runs import optimizer_factory
    family = families.get(name)
    config = family.load_config(batch)
    config.model.z_dim, config.model.g_features, config.model.d_features = 8, 8, 8
    config.gan.n_dis = min(config.gan.n_dis, 2)
    batch_np = family.adapter.make_batch(config, batch, seed=3)
    state = gan.init_state(config, jax.random.PRNGKey(0), batch_np, optimizer_factory(config))
    rng = np.random.default_rng(0)

    def noise(scale, positive=False):
        def add(p):
            n = scale * rng.standard_normal(p.shape, dtype=np.float32)
            return p + (np.abs(n) if positive else n)
        return add
    stats = {"mean": noise(0.1), "var": noise(0.1, positive=True)}
    perturb_stats = lambda tree: {k: jax.tree_util.tree_map_with_path(
        lambda path, v: stats[path[-1].key](v), v) if k == "batch_stats" else v
        for k, v in tree.items()}
    state = state.replace(g_params=jax.tree.map(noise(0.02), state.g_params),
                          d_params=jax.tree.map(noise(0.02), state.d_params),
                          g_state=perturb_stats(state.g_state),
                          d_state=perturb_stats(state.d_state))
    return family, config, batch_np, state


def _gan_reference(family, config, state):
    from benchmarks.torch_reference import transfer
    reference = family.adapter.torch_model(config)
    tree = {"generator": state.g_params, "discriminator": state.d_params,
            "spectral_norm": state.d_state.get("spectral_norm", {})}
    transfer.load_gan(reference, tree, state.g_state.get("batch_stats"),
                      state.d_state.get("batch_stats"))
    return reference


def _sn_vectors(reference):
    """{torch module name: weight_u} of the spectrally normalised layers."""
    return {n: m.weight_u.clone() for n, m in reference.discriminator.named_modules()
            if hasattr(m, "weight_u")}


@pytest.mark.parametrize("k,s,p", [(4, 1, 0), (4, 2, 1), (3, 2, 1)])
def test_conv_transpose_transfer(k, s, p):
    """Flax ConvTranspose(k, stride s, padding k-1-p, transpose_kernel=True) with its kernel
    [kh, kw, out, in] read as torch's [in, out, kh, kw] (no spatial flip) is
    torch.nn.ConvTranspose2d(k, s, p)."""
    import flax.linen as nn
    from benchmarks.torch_reference.transfer import conv_kernel
    layer = nn.ConvTranspose(5, (k, k), strides=(s, s), padding=((k - 1 - p,) * 2,) * 2,
                             use_bias=False, transpose_kernel=True)
    x = np.random.default_rng(0).standard_normal((2, 3, 4, 3)).astype(np.float32)
    expected, variables = layer.init_with_output(jax.random.PRNGKey(0), x)
    reference = torch.nn.ConvTranspose2d(3, 5, k, s, p, bias=False)
    with torch.no_grad():
        reference.weight.copy_(conv_kernel(variables["params"]["kernel"]))
        got = _nhwc(reference(torch.from_numpy(x).permute(0, 3, 1, 2)))
    assert got.shape == expected.shape
    assert _rel_err(got, expected) <= REL_TOL


@pytest.mark.parametrize("name", GAN_FAMILIES)
def test_gan_reference_matches_jresgen(name, fast_compile):
    """Equal parameter counts; G equal in eval mode (running statistics transferred) and in
    training mode; D equal in training mode, spectral norm's power iteration included, and
    the power-iteration vectors it leaves behind equal (u's orientation transferred right)."""
    from jresgen.nn import count_params
    from jresgen.tasks import gan
    family, config, batch, state = _gan_small(name)
    reference = _gan_reference(family, config, state)
    assert (sum(p.numel() for p in reference.parameters())
            == count_params(family.adapter.jax_params(state)))
    g, d = gan.build_model(config)
    (z,) = family.adapter.model_args(config, batch)
    for train in (False, True):
        expected = jax.jit(lambda v, z: g.apply(v, z, train=train, mutable=["batch_stats"]))(
            {"params": state.g_params, **state.g_state}, z)[0]
        with torch.no_grad():
            got = _nhwc(reference.generator.train(train)(torch.from_numpy(z)))
        assert got.shape == expected.shape
        assert _rel_err(got, expected) <= REL_TOL, f"generator, train={train}"

    real = batch["image"][:, 0] * 2 - 1
    expected, d_state = jax.jit(lambda v, x: d.apply(v, x, train=True, mutable=[k for k in v if k != "params"]))(
        {"params": state.d_params, **state.d_state}, real)
    with torch.no_grad():
        got = reference.discriminator.train()(torch.from_numpy(real).permute(0, 3, 1, 2))
    assert _rel_err(got.numpy(), expected) <= REL_TOL
    vectors = _sn_vectors(reference)
    assert bool(vectors) == (config.model.arch == "sngan")
    new_u = {path: leaf for path, leaf in transfer_leaves(d_state.get("spectral_norm", {}))
             if path[-1] == "u"}
    assert len(new_u) == len(vectors)
    for u in new_u.values():  # each jresgen u matches exactly one torch weight_u
        matches = [n for n, t in vectors.items() if t.shape == (u.size,)
                   and np.allclose(t.numpy(), np.asarray(u).ravel(), atol=1e-5)]
        assert len(matches) == 1


def transfer_leaves(tree):
    from benchmarks.torch_reference.transfer import _path_leaves
    return _path_leaves(tree).items()


@pytest.mark.parametrize("name", GAN_FAMILIES)
def test_gan_train_step_matches(name, fast_compile):
    """One whole GAN step (n_dis D updates, one G update, the config's loss and both Adams)
    gives the same D loss, G loss, weights and power-iteration vectors on both sides when
    torch is fed the latents jresgen's step draws."""
    from jresgen.tasks import gan
    from jresgen.tasks.state import step_rng
    family, config, batch, state = _gan_small(name)
    reference = _gan_reference(family, config, state)
    b, n_dis = batch["image"].shape[:2]
    rng = step_rng(state)
    latents = [torch.from_numpy(np.asarray(gan.draw_latents(
        jax.random.fold_in(rng, i), np.arange(b), (config.model.z_dim,), 0)[0]))
        for i in range(n_dis + 1)]
    new_state, metrics = jax.jit(functools.partial(gan.train_step, config=config))(state, batch)
    trainer = family.adapter.torch_trainer(config, reference.train())
    x, _ = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    d_losses, g_loss = trainer.step(x, latents=latents, return_parts=True)
    for got, want in ((d_losses.mean().item(), float(metrics["d_loss"])),
                      (g_loss.item(), float(metrics["g_loss"]))):
        assert abs(got - want) <= REL_TOL * abs(want)
    # Adam's first steps move every weight by about lr * sign(grad): equal weights after it.
    after = _gan_reference(family, config, new_state)
    lr = config.learning_rate
    for (n, p), (_, q) in zip(reference.named_parameters(), after.named_parameters()):
        np.testing.assert_allclose(p.detach().numpy(), q.detach().numpy(), rtol=0,
                                   atol=1e-2 * lr, err_msg=n)
    for n, u in _sn_vectors(reference).items():  # u advanced n_dis + 1 times on both sides
        np.testing.assert_allclose(u.numpy(), _sn_vectors(after)[n].numpy(), atol=1e-4,
                                   err_msg=n)


@pytest.mark.parametrize("name", GAN_FAMILIES)
def test_gan_analytic_flops_match_torch_flop_counter(name):
    """The analytic count of jresgen's whole GAN step (the scan's n_dis D updates counted
    n_dis times) equals FlopCounterMode's count of the PyTorch step."""
    from torch.utils.flop_counter import FlopCounterMode
    from jresgen.tasks import gan
    family, config, batch, state = _gan_small(name)
    jax_flops = analytic_flops(functools.partial(gan.train_step, config=config), state, batch)
    reference = _gan_reference(family, config, state)
    trainer = family.adapter.torch_trainer(config, reference.train())
    x, _ = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    counter = FlopCounterMode(display=False)
    with counter:
        trainer.step(x)
    n_dis = batch["image"].shape[1]
    assert jax_flops == counter.get_total_flops() + _power_iteration_flops(reference, n_dis)


def _power_iteration_flops(reference, n_dis) -> int:
    """What FlopCounterMode leaves out: spectral norm's matrix-vector products (torch.mv,
    torch.dot, the outer product of sigma's gradient), which jresgen's jaxpr has as
    dot_generals. Per normalised weight read as [out, in'] (M = out * in' entries), every
    training forward does 3M + out multiply-adds (v = W^T u, u = W v, sigma = u^T W v): n_dis
    D updates and the G update; every D update's weight gradient M + out more (sigma's)."""
    macs = 0
    for m in reference.discriminator.modules():
        if hasattr(m, "weight_u"):
            big, out = m.weight_orig.numel(), m.weight_orig.shape[0]
            macs += (n_dis + 1) * (3 * big + out) + n_dis * (big + out)
    return 2 * macs


# ---- feed-forward texture network: the Gram loss over fixed random features ----

def test_texture_net_family_times_the_same_work():
    """Batch 4 of 128x128 patches and the plain loss, whatever the config trains."""
    from jresgen.tasks import texture_net
    config = families.get("texture_net_brick").load_config(4)
    assert (config.batch_size, config.data.patch_size) == (4, 128)
    assert texture_net.pyramid_levels(config) == 1 and not texture_net.batch_gram(config)
    assert texture_net.shift_distances(config) == ()
    weights = [float(w) for w in texture_net.term_weights(config, 0)]
    assert weights == [1.0] * len(texture_net.loss_terms(config)[0][1].layer_names)
    gpu = families.get("texture_net_brick").load_config(16, device="gpu")
    assert gpu.data.patch_size == 128


@pytest.mark.parametrize("per_scale", [None, ((4, 6, 8), (1, 2, 1))])
def test_texture_net_loss_and_gradients_match(per_scale):
    """The same relative Gram loss and the same gradients on both sides, with jresgen's noise,
    feature filters and exemplar Grams handed to PyTorch; also with model.features and
    model.blocks given per scale."""
    from benchmarks.torch_reference import transfer
    family, config, batch = _small("texture_net_brick", batch=2)
    _shrink(family, config)
    if per_scale:
        with config.unlocked():
            del config.model["features"], config.model["blocks"]
            config.model.features, config.model.blocks = per_scale
    model, variables = _perturbed_variables(family, config, batch)
    params = variables["params"]
    loss, grads = jax.jit(jax.value_and_grad(family.adapter.jax_loss(config, model, {})))(
        params, batch)

    def torch_model(tree):
        m = family.adapter.torch_model(config)
        transfer.load_texture(m, tree)
        return m
    reference = torch_model(params).train()
    x, y = family.adapter.torch_batch(config, batch, "cpu", torch.float32)
    torch_loss = family.adapter.torch_loss(config)(reference(x), y)
    torch_loss.backward()
    assert abs(torch_loss.item() - float(loss)) <= REL_TOL * abs(float(loss))
    dead = _assert_same_gradients(family, reference, torch_model(grads), 1e-3)
    assert dead, "the config's circular padding makes some biases dead"
