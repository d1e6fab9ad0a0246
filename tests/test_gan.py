"""GAN family: losses against hand-computed values, spectral normalisation against numpy's SVD,
EMA, model shapes, device-count independence under pmap and jit, exact resume, the CLI."""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import CONFIGS, interrupt_at_step, train_with
from jresgen.config import apply_overrides, load_config
from jresgen.tasks import gan_losses



@pytest.fixture(autouse=True, scope="module")
def _fast_compile():
    """These tests pay for compiling GAN steps (a scan over D updates plus the G update), not
    for running them: XLA's optimisations off, as flax's examples do in tests."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


REAL = jnp.array([2.0, -0.5, 0.3])
FAKE = jnp.array([-1.0, 0.7, 1.5])


def _softplus(x):
    return np.log1p(np.exp(x))


def test_non_saturating_loss_by_hand():
    real, fake = np.asarray(REAL), np.asarray(FAKE)
    # -log sigmoid(r) - log(1 - sigmoid(f)); the generator's -log sigmoid(f)
    d = np.mean(-np.log(1 / (1 + np.exp(-real)))) + np.mean(-np.log(1 - 1 / (1 + np.exp(-fake))))
    g = np.mean(-np.log(1 / (1 + np.exp(-fake))))
    np.testing.assert_allclose(gan_losses.discriminator_loss("ns", REAL, FAKE), d, rtol=1e-6)
    np.testing.assert_allclose(gan_losses.generator_loss("ns", FAKE), g, rtol=1e-6)
    np.testing.assert_allclose(d, np.mean(_softplus(-real)) + np.mean(_softplus(fake)), rtol=1e-6)


def test_hinge_loss_by_hand():
    # relu(1 - r) = [0, 1.5, 0.7]; relu(1 + f) = [0, 1.7, 2.5]
    d = (0 + 1.5 + 0.7) / 3 + (0 + 1.7 + 2.5) / 3
    np.testing.assert_allclose(gan_losses.discriminator_loss("hinge", REAL, FAKE), d, rtol=1e-6)
    np.testing.assert_allclose(gan_losses.generator_loss("hinge", FAKE), -(1.2 / 3), rtol=1e-6)


def test_wasserstein_loss_and_gradient_penalty_by_hand():
    np.testing.assert_allclose(gan_losses.discriminator_loss("wgan_gp", REAL, FAKE),
                               np.mean(FAKE) - np.mean(REAL), rtol=1e-6)
    # critic(x) = sum(w * x): its gradient is w everywhere, so the penalty is (|w| - 1)^2
    w = jnp.arange(1.0, 13.0).reshape(1, 2, 2, 3) / 20
    critic = lambda x: jnp.sum(x * w, axis=(1, 2, 3))  # noqa: E731
    real, fake = jnp.ones((4, 2, 2, 3)), jnp.zeros((4, 2, 2, 3))
    gp = gan_losses.gradient_penalty(critic, real, fake, jnp.linspace(0, 1, 4))
    np.testing.assert_allclose(gp, (np.linalg.norm(np.asarray(w)) - 1) ** 2, rtol=1e-5)


def test_unknown_loss_is_refused():
    with pytest.raises(ValueError, match="unknown GAN loss"):
        gan_losses.discriminator_loss("lsgan", REAL, FAKE)


def test_spectral_norm_reaches_the_largest_singular_value():
    import flax.linen as nn

    from jresgen.nn.spectral_norm import largest_singular_value, spectral_normalized

    class Net(nn.Module):
        @nn.compact
        def __call__(self, x, train=False):
            return spectral_normalized(nn.Conv(16, (3, 3), name="conv"), update=train)(x)

    x = jnp.ones((1, 8, 8, 5))
    variables = Net().init(jax.random.PRNGKey(0), x)
    kernel = variables["params"]["conv"]["kernel"]
    sigma_true = largest_singular_value(kernel)
    assert abs(sigma_true - 1) > 0.3  # the raw kernel is not normalised already
    state = {"spectral_norm": variables["spectral_norm"]}
    apply = jax.jit(lambda s: Net().apply({"params": variables["params"], **s}, x, train=True,
                                          mutable=["spectral_norm"])[1])
    for _ in range(50):  # one power iteration per training call
        state = apply(state)
    sigma = jax.tree.leaves({k: v for k, v in
                             jax.tree_util.tree_flatten_with_path(state)[0]
                             if "sigma" in jax.tree_util.keystr(k)})[0]
    np.testing.assert_allclose(float(sigma), sigma_true, rtol=1e-3)
    # the kernel the conv uses is the raw one divided by sigma: its top singular value is 1
    normalized = np.asarray(kernel) / float(sigma)
    np.testing.assert_allclose(largest_singular_value(normalized), 1.0, rtol=1e-3)
    # evaluation leaves the stored vector alone
    _, unchanged = Net().apply({"params": variables["params"], **state}, x, train=False,
                               mutable=["spectral_norm"])
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(unchanged)):
        np.testing.assert_array_equal(a, b)


def _config(name="sngan_digits.py", **overrides):
    config = load_config(f"{CONFIGS / name}:tiny")
    apply_overrides(config, [f"{k.replace('__', '.')}={v}" for k, v in overrides.items()])
    return config


@pytest.mark.parametrize("arch,resolution,blocks", [("dcgan", 32, 3), ("dcgan", 64, 4),
                                                    ("sngan", 32, 3), ("sngan", 64, 4)])
def test_published_layouts_shapes(arch, resolution, blocks):
    from jresgen.models import gan as gan_models

    cfg = _config(model__arch=arch, model__resolution=resolution, model__channels=3,
                  model__g_blocks="()", model__d_blocks="()").model  # the paper's layout
    g, d = gan_models.build_generator(cfg), gan_models.build_discriminator(cfg)
    z = jnp.zeros((2, cfg.z_dim))
    image, _ = jax.eval_shape(lambda: g.init_with_output(jax.random.PRNGKey(0), z))
    assert image.shape == (2, resolution, resolution, 3)
    logits, _ = jax.eval_shape(lambda: d.init_with_output(jax.random.PRNGKey(0),
                                                          jnp.zeros(image.shape)))
    assert logits.shape == (2,)
    if arch == "sngan":
        assert len(g.blocks) == blocks


def test_sngan_cifar_layout_matches_the_paper():
    from jresgen.models.gan import sngan_discriminator_blocks, sngan_generator_blocks

    assert sngan_generator_blocks(32, 256) == (256, 256, 256)
    assert sngan_discriminator_blocks(32, 128) == ((128, True), (128, True), (128, False),
                                                   (128, False))
    assert sngan_generator_blocks(64, 1024) == (512, 256, 128, 64)
    assert sngan_discriminator_blocks(64, 1024)[-1] == (1024, False)


def test_ema_follows_the_generator_with_the_configured_decay():
    from jresgen import data as datasets
    from jresgen.tasks import gan
    from jresgen.train.runs import optimizer_factory

    config = _config(gan__ema_decay=0.5)
    batch = datasets.build(config)[0].batch(0)
    state = gan.init_state(config, jax.random.PRNGKey(0), batch, optimizer_factory(config))
    new, metrics = jax.jit(functools.partial(gan.train_step, config=config))(state, batch)
    expected = jax.tree.map(lambda e, p: 0.5 * e + 0.5 * p, state.ema_params, new.g_params)
    for a, b in zip(jax.tree.leaves(expected), jax.tree.leaves(new.ema_params)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
    assert not np.allclose(jax.tree.leaves(new.g_params)[0], jax.tree.leaves(state.g_params)[0])
    assert {"d_loss", "g_loss", "learning_rate_g", "learning_rate_d"} <= set(metrics)


@pytest.mark.parametrize("name,overrides", [
    ("sngan_digits.py", {}),
    ("dcgan_digits.py", {}),
    ("sngan_digits_cond.py", {}),
])
def test_four_devices_equal_one_under_pmap_and_jit(name, overrides):
    """Gradients, BatchNorm statistics, the spectral-norm vectors and the latents do not depend
    on the device count. SGD, not Adam: Adam's update does not change when every gradient is
    scaled, so it would hide a psum where a pmean belongs."""
    sgd = {f"optimizer__{n}__{k}": v for n in ("g", "d")
           for k, v in (("name", "sgd"), ("learning_rate", 0.05))}
    config = _config(name, **sgd, **overrides)
    devices = jax.local_devices()
    one, losses_one = train_with(config, "pmap", devices[:1], 2)
    for strategy in ("pmap", "jit"):
        four, losses_four = train_with(config, strategy, devices[:4], 2)
        np.testing.assert_allclose(losses_four, losses_one, rtol=2e-4, atol=1e-5)
        for field in ("g_params", "d_params", "g_state", "d_state", "ema_params"):
            for a, b in zip(jax.tree.leaves(getattr(one, field)),
                            jax.tree.leaves(getattr(four, field))):
                np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6, err_msg=f"{strategy} {field}")


def test_resume_equals_an_uninterrupted_run(tmp_path, monkeypatch):
    """Interrupted by Ctrl-C after step 2 of the same 4-step config (the learning rates decay
    linearly over total_steps, so a shorter first run would follow another schedule)."""
    from jresgen.train.loop import load_workdir, train_and_evaluate

    config = _config("sngan_digits_cond.py", total_steps=4, checkpoint_every=4)
    train_and_evaluate(config, tmp_path / "straight")
    with monkeypatch.context() as patch:
        interrupt_at_step(patch, 2)  # the loop stops after step 2 and saves
        with pytest.raises(KeyboardInterrupt, match="interrupted at step 2"):
            train_and_evaluate(config, tmp_path / "resumed")
    train_and_evaluate(config, tmp_path / "resumed")
    _, _, a, _ = load_workdir(tmp_path / "straight")
    _, _, b, _ = load_workdir(tmp_path / "resumed")
    assert int(a.step) == int(b.step) == 4
    for field in ("g_params", "d_params", "g_state", "d_state", "ema_params", "g_opt_state",
                  "d_opt_state"):
        for x, y in zip(jax.tree.leaves(getattr(a, field)), jax.tree.leaves(getattr(b, field))):
            np.testing.assert_array_equal(x, y, err_msg=field)
    records = [json.loads(line) for line in (tmp_path / "resumed" / "metrics.jsonl").open()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]


@pytest.fixture(scope="module")
def cond_workdir(tmp_path_factory):
    from jresgen.cli import main

    workdir = tmp_path_factory.mktemp("cgan")
    assert main(["train", "--config", f"{CONFIGS / 'sngan_digits_cond.py'}:tiny",
                 "--workdir", str(workdir)]) == 0
    return workdir


def test_sample_npz_with_class(cond_workdir, tmp_path):
    from jresgen.cli import main

    out = tmp_path / "s.npz"
    assert main(["sample", "--workdir", str(cond_workdir), "--num", "5", "--class", "3",
                 str(out)]) == 0
    with np.load(out) as f:
        assert f["samples"].shape == (5, 16, 16, 1) and f["samples"].dtype == np.uint8
        np.testing.assert_array_equal(f["labels"], [3] * 5)
    grid = tmp_path / "g.png"
    assert main(["sample", "--workdir", str(cond_workdir), "--num", "4", str(grid)]) == 0
    assert (cond_workdir / "samples" / "samples.png").exists()  # written during training


@pytest.mark.parametrize("argv,message", [
    (["--size", "32x32"], "fixed output size"),
    (["--class", "10"], "--class must be in 0..9"),
    (["--size", "axb"], "size must look like"),
])
def test_sample_bad_inputs(cond_workdir, tmp_path, capsys, argv, message):
    from jresgen.cli import main

    code = main(["sample", "--workdir", str(cond_workdir), *argv, str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and message in err


def test_class_on_an_unconditional_model(tmp_path, capsys):
    from jresgen.cli import main

    workdir = tmp_path / "gan"
    assert main(["train", "--config", f"{CONFIGS / 'dcgan_digits.py'}:tiny",
                 "--workdir", str(workdir)]) == 0
    capsys.readouterr()
    code = main(["sample", "--workdir", str(workdir), "--class", "1", str(tmp_path / "x.png")])
    err = capsys.readouterr().err
    assert code == 2 and "unconditional" in err and len(err.strip().splitlines()) == 1


def test_missing_classifier_workdir_is_one_line(tmp_path, capsys):
    from jresgen.cli import main

    code = main(["train", "--config", f"{CONFIGS / 'sngan_digits.py'}:tiny", "--workdir",
                 str(tmp_path / "g"), f"--config.evaluation.classifier_workdir={tmp_path / 'no'}"])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1 and "not found" in err


def test_texture_gan_samples_any_size(tmp_path):
    from PIL import Image

    from jresgen.cli import main
    from jresgen.train.loop import evaluate_workdir

    workdir = tmp_path / "tex"
    assert main(["train", "--config", f"{CONFIGS / 'sngan_texture.py'}:tiny",
                 "--workdir", str(workdir)]) == 0
    out = tmp_path / "t.png"
    assert main(["sample", "--workdir", str(workdir), "--size", "40x72", str(out)]) == 0
    with Image.open(out) as img:
        assert img.size == (72, 40) and img.mode == "L"  # brick is grayscale
    with Image.open(workdir / "samples" / "texture_256.png") as img:
        assert img.size == (256, 256)
    summary = evaluate_workdir(workdir)
    assert summary["gram_distance_floor"] < summary["gram_distance_noise"]


def test_class_agreement_counts_hits_per_class():
    from jresgen.tasks.gan import class_agreement

    class Network:  # "classifies" by the mean pixel: image k has mean k / 10
        def embed(self, images):
            predicted = np.round(images.mean(axis=(1, 2, 3)) * 10).astype(int)
            return None, np.eye(3)[predicted]

    images = np.array([0.0, 0.1, 0.2, 0.2])[:, None, None, None] * np.ones((4, 2, 2, 1))
    result = class_agreement(Network(), images, np.array([0, 1, 1, 2]))
    assert result["class_agreement"] == 0.75
    assert result["class_agreement_per_class"] == [1.0, 0.5, 1.0]
