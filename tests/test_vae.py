"""The VAE: shapes, the KL and the ELBO against hand computations, the same randomness on 1 and
4 devices, evaluation over every test digit, training, sampling and the CLI."""
import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

from conftest import CONFIGS, losses_on_one_batch, train_with
from jresgen import data as datasets
from jresgen.cli import main
from jresgen.config import apply_overrides, load_config
from jresgen.errors import UserError
from jresgen.models import vae as vae_models
from jresgen.tasks import vae as task
from jresgen.tasks.state import TrainState

TINY = f"{CONFIGS / 'vae_digits.py'}:tiny"


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation():
    """These tests pay for compilation, not numerics: XLA's cheap pipeline halves it. Both
    sides of every comparison here compile under the same setting."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


@pytest.mark.parametrize("name,shape", [("vae_digits.py", (16, 16, 1, 17)),
                                        ("vae_digits.py:tiny", (16, 16, 1, 17)),
                                        ("vae_mnist.py", (28, 28, 1, 256)),
                                        ("vae_cifar10.py", (32, 32, 3, 256))])
def test_shapes(name, shape):
    config = load_config(str(CONFIGS / name))
    model, z = task.build_model(config), config.model.latent_dim
    x, eps = jnp.zeros((2, *shape[:3])), jnp.zeros((2, z))
    variables = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), x, eps))
    logits, mean, logvar, kl = jax.eval_shape(lambda v: model.apply(v, x, eps), variables)
    assert logits.shape == (2, *shape) and mean.shape == logvar.shape == (2, z)
    assert kl.shape == (2,)
    decoded = jax.eval_shape(lambda v: model.apply(v, eps, method=vae_models.VAE.decode),
                             variables)
    assert decoded.shape == (2, *shape)


def test_kl_matches_the_closed_form_and_a_numerical_integral():
    mean = np.array([[1.0, -0.5, 0.0, 2.0]])
    sigma = np.array([[1.0, 0.5, math.e ** 0.5, 0.2]])
    kl = np.asarray(vae_models.gaussian_kl(jnp.asarray(mean), jnp.asarray(2 * np.log(sigma))))
    closed = np.sum(-np.log(sigma) + (sigma ** 2 + mean ** 2) / 2 - 0.5)
    np.testing.assert_allclose(kl, [closed], rtol=1e-6)
    # one dimension by quadrature: KL = integral of q log(q / p)
    t = np.linspace(-12, 12, 200_001)
    q = np.exp(-(t - 2.0) ** 2 / (2 * 0.2 ** 2)) / (0.2 * math.sqrt(2 * math.pi))
    log_ratio = np.log(np.maximum(q, 1e-300)) + t ** 2 / 2 + 0.5 * math.log(2 * math.pi)
    numeric = np.sum(q * log_ratio) * (t[1] - t[0])
    one = float(vae_models.gaussian_kl(jnp.array([[2.0]]), jnp.array([[2 * math.log(0.2)]]))[0])
    assert one == pytest.approx(numeric, rel=1e-4)


def test_categorical_nll_by_hand():
    # one pixel, 3 levels with probabilities 1/4, 1/2, 1/4
    logits = jnp.log(jnp.array([1.0, 2.0, 1.0])).reshape(1, 1, 1, 1, 3)
    for level, expected in [(0, math.log(4)), (1, math.log(2)), (2, math.log(4))]:
        nll = vae_models.categorical_nll(logits, jnp.full((1, 1, 1, 1), level))
        assert float(nll[0]) == pytest.approx(expected, rel=1e-6)
    mean = vae_models.categorical_mean(logits)
    assert float(mean.squeeze()) == pytest.approx(0.5)


def test_negative_elbo_by_hand():
    """Zero decoder logits: uniform over 17 levels, so recon = 256 log 17 whatever the image;
    a posterior with fixed mean and log-variance: KL to N(0, I) in closed form (the config's
    mixture prior has none, so this test asks for the standard prior); loss = recon + beta KL."""
    config = load_config(TINY)
    config.model.prior = "standard"
    model = task.build_model(config)
    z = config.model.latent_dim
    x = jnp.asarray(datasets.build(config)[1]["image"][:3])
    variables = model.init(jax.random.PRNGKey(0), x, jnp.zeros((3, z)))
    mean, logvar = np.array([0.5, -1.0, 0.0, 2.0]), np.array([0.0, -1.0, 0.5, -2.0])
    params = jax.tree.map(np.array, variables["params"])  # writable copies
    params["decoder"]["logits"]["kernel"][:] = 0
    params["decoder"]["logits"]["bias"][:] = 0
    params["encoder"]["posterior"]["kernel"][:] = 0
    params["encoder"]["posterior"]["bias"][:] = np.concatenate([mean, logvar])
    eps = jax.random.normal(jax.random.PRNGKey(1), (3, z))
    (loss, recon, kl), _ = task.negative_elbo(model, {"params": params}, x, eps, beta=0.25)
    hand_kl = 0.5 * np.sum(mean ** 2 + np.exp(logvar) - 1 - logvar)
    np.testing.assert_allclose(recon, 256 * math.log(17), rtol=1e-5)  # float32 sums
    np.testing.assert_allclose(kl, hand_kl, rtol=1e-6)
    np.testing.assert_allclose(loss, 256 * math.log(17) + 0.25 * hand_kl, rtol=1e-5)


def _mixture(means, logvars, weight_logits):
    prior = vae_models.MixturePrior(means.shape[1], means.shape[0])
    params = {"means": jnp.asarray(means), "logvars": jnp.asarray(logvars),
              "weight_logits": jnp.asarray(weight_logits)}
    return prior, {"params": params}


def test_mixture_prior_density_and_sampling_against_scipy():
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(0)
    means, logvars = rng.normal(size=(3, 2)), rng.normal(size=(3, 2)) * 0.3
    weight_logits = np.array([0.0, 1.0, -0.5])
    prior, variables = _mixture(means, logvars, weight_logits)
    z = rng.normal(size=(5, 2)) * 2
    w = np.exp(weight_logits) / np.exp(weight_logits).sum()
    expected = np.log(sum(w[k] * multivariate_normal(means[k], np.diag(np.exp(logvars[k]))).pdf(z)
                          for k in range(3)))
    got = prior.apply(variables, jnp.asarray(z), method=prior.log_prob)
    np.testing.assert_allclose(got, expected, rtol=1e-5)
    # u picks component k when it falls in the k-th interval of the cumulative weights
    u = np.array([0.5 * w[0], w[0] + 0.5 * w[1], 1 - 0.5 * w[2], 0.0, 1.0])
    picked = prior.apply(variables, jnp.zeros((5, 2)), jnp.asarray(u), method=prior.sample)
    np.testing.assert_allclose(picked, means[[0, 1, 2, 0, 2]], rtol=1e-6)


def test_mixture_kl_estimate_is_unbiased():
    """A one-component N(0, I) mixture: the mean over eps of log q(z|x) - log p(z) (the
    model's KL term) is the closed form KL the standard prior uses."""
    d = 4
    mean, logvar = jnp.array([0.5, -1.0, 0.0, 2.0]), jnp.array([0.0, -1.0, 0.5, -2.0])
    prior, variables = _mixture(np.zeros((1, d)), np.zeros((1, d)), np.zeros(1))
    z = mean + jnp.exp(0.5 * logvar) * jax.random.normal(jax.random.PRNGKey(0), (200_000, d))
    kl = vae_models.diagonal_gaussian_log_prob(z, mean, logvar) - prior.apply(
        variables, z, method=prior.log_prob)
    closed = float(vae_models.gaussian_kl(mean[None], logvar[None])[0])
    assert float(kl.mean()) == pytest.approx(closed, rel=5e-3)


def test_sample_images_contract():
    config = load_config(TINY)
    apply_overrides(config, ["model.prior=mixture"])
    model = task.build_model(config)
    x = jnp.zeros((1, 16, 16, 1))
    variables = model.init(jax.random.PRNGKey(0), x, jnp.zeros((1, config.model.latent_dim)))
    state = TrainState.create(params=variables["params"], model_state={}, tx=optax.adam(1e-3),
                              rng=jax.random.PRNGKey(0))
    images, labels = task.sample_images(config, state, 70, seed=1)  # > one eval batch of 64
    assert images.shape == (70, 16, 16, 1) and images.dtype == np.float32 and labels is None
    assert 0 <= images.min() and images.max() <= 1
    again, _ = task.sample_images(config, state, 5, seed=1)
    # sample k depends on (seed, k) only (up to float rounding of another batch shape)
    np.testing.assert_allclose(again, images[:5], atol=1e-6)
    for kwargs, message in [({"size": (32, 32)}, "fixed output size"),
                            ({"label": 3}, "unconditional")]:
        with pytest.raises(UserError, match=message):
            task.sample_images(config, state, 4, 0, **kwargs)


def test_samples_come_from_the_learned_prior():
    """A mixture collapsed onto one point (tiny variances): every sample decodes that point,
    where N(0, I) draws would decode to different images."""
    config = load_config(TINY)
    apply_overrides(config, ["model.prior=mixture"])
    model = task.build_model(config)
    variables = model.init(jax.random.PRNGKey(0), jnp.zeros((1, 16, 16, 1)),
                           jnp.zeros((1, config.model.latent_dim)))
    params = dict(variables["params"])
    point = jnp.full((config.model.latent_dim,), 3.0)
    scale = config.model.prior_param_scale  # the mixture's parameters are stored divided by it
    params["mixture"] = {"means": jnp.broadcast_to(point / scale,
                                                   params["mixture"]["means"].shape),
                         "logvars": jnp.full_like(params["mixture"]["logvars"], -30.0 / scale),
                         "weight_logits": params["mixture"]["weight_logits"]}
    state = TrainState.create(params=params, model_state={}, tx=optax.sgd(0.1),
                              rng=jax.random.PRNGKey(0))
    images, _ = task.sample_images(config, state, 6, seed=2)
    expected = task._decode_mean(model, {"params": params}, point[None])
    np.testing.assert_allclose(images, np.broadcast_to(expected, images.shape), atol=1e-5)


@pytest.fixture(scope="module")
def one_device():
    return train_with(load_config(TINY), "pmap", jax.local_devices()[:1], 2)


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_one_and_four_devices_draw_the_same_latents(strategy, one_device):
    """eps comes from the global sample index: a device-indexed key would change the loss."""
    assert jax.local_device_count() == 4
    one, losses1 = one_device
    four, losses4 = train_with(load_config(TINY), strategy, jax.local_devices(), 2)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    for a, b in zip(jax.tree.leaves(one.params), jax.tree.leaves(four.params)):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


def test_loss_decreases():
    config = load_config(TINY)
    apply_overrides(config, ["learning_rate=0.01", "optimizer.schedule=constant"])
    losses = losses_on_one_batch(config, 8)
    assert losses[-1] < 0.8 * losses[0], losses


@pytest.fixture(scope="module")
def vae_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("vae")
    assert main(["train", "--config", TINY, "--workdir", str(workdir)]) == 0
    return workdir


def test_eval_covers_every_test_digit(capsys, vae_workdir):
    capsys.readouterr()
    assert main(["eval", "--workdir", str(vae_workdir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"step", "nll_nats", "bits_per_dim", "kl_nats", "recon_nats"} <= set(result)
    assert result["step"] == 4 and result["count"] == 450  # eval batches of 64: a part batch
    assert result["nll_nats"] == pytest.approx(result["recon_nats"] + result["kl_nats"])
    assert result["bits_per_dim"] == pytest.approx(result["nll_nats"] / (256 * math.log(2)))
    for name in ("reconstructions", "prior_samples", "interpolations"):
        with Image.open(vae_workdir / "samples" / f"{name}.png") as img:
            assert img.mode == "L" and min(img.size) > 32


def test_cli_sample_writes_a_grid(capsys, vae_workdir, tmp_path):
    out = tmp_path / "samples.png"
    argv = ["sample", "--workdir", str(vae_workdir), "--num", "10", str(out)]
    assert main(argv + ["--seed", "3"]) == 0
    with Image.open(out) as img:
        first = np.asarray(img)
    assert first.shape == (3 * 33 + 1, 4 * 33 + 1)  # 4 columns, 3 rows of 16x16 zoomed x2
    assert main(argv + ["--seed", "3"]) == 0
    with Image.open(out) as img:
        assert np.array_equal(np.asarray(img), first)  # seeded
    assert main(argv + ["--seed", "4"]) == 0
    with Image.open(out) as img:
        assert not np.array_equal(np.asarray(img), first)


def test_cli_sample_refuses_an_sr_workdir(capsys, tmp_path):
    (tmp_path / "config.json").write_text(load_config(f"{CONFIGS / 'sr_x2.py'}:tiny").to_json())
    capsys.readouterr()
    code = main(["sample", "--workdir", str(tmp_path), "--num", "4", str(tmp_path / "s.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "'sr' model, which cannot sample" in err
