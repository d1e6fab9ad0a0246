"""Classifiers: shapes and sizes of every architecture, BatchNorm statistics of the global batch
under 4 devices, evaluation over every test sample, training, and the CLI."""
import functools
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import CONFIGS, losses_on_one_batch, train_with
from jresgen import data as datasets
from jresgen.cli import main
from jresgen.config import apply_overrides, load_config
from jresgen.models import classifier as models
from jresgen.nn import count_params
from jresgen.tasks import classifier as task
from jresgen.train.optim import make_optimizer

LENET = f"{CONFIGS / 'classifier_digits.py'}:tiny"
RESNET = f"{CONFIGS / 'resnet20_digits.py'}:tiny"


@pytest.fixture(autouse=True, scope="module")
def _fast_compilation():
    """These tests pay for compilation, not numerics: XLA's cheap pipeline halves it. Both
    sides of every comparison here compile under the same setting."""
    previous = jax.config.read("jax_disable_most_optimizations")
    jax.config.update("jax_disable_most_optimizations", True)
    yield
    jax.config.update("jax_disable_most_optimizations", previous)


def _shapes(model, x_shape):
    x = jax.ShapeDtypeStruct(x_shape, jnp.float32)
    variables = jax.eval_shape(lambda: model.init(jax.random.PRNGKey(0), jnp.zeros(x_shape)))
    logits = jax.eval_shape(lambda v, x: model.apply(v, x), variables, x)
    features = jax.eval_shape(lambda v, x: models.penultimate_features(model, v, x),
                              variables, x)
    return variables, logits.shape, features.shape


@pytest.mark.parametrize("model,x_shape,features,params", [
    (models.LeNet(), (2, 16, 16, 1), 84, None),
    (models.LeNet(conv_features=(32, 64), hidden=(256, 128)), (2, 32, 32, 3), 128, None),
    (models.ResNet20(), (2, 32, 32, 3), 64, (0.26e6, 0.28e6)),  # the paper: 0.27M
    (models.ResNet32(), (2, 32, 32, 3), 64, (0.45e6, 0.48e6)),  # 0.46M
    (models.ResNet56(), (2, 32, 32, 3), 64, (0.84e6, 0.87e6)),  # 0.85M
    (models.ResNet18(num_classes=100), (2, 32, 32, 3), 512, (11.1e6, 11.3e6)),
    # torchvision's resnet50: 25,557,032 parameters
    (models.ResNet50(num_classes=1000), (2, 224, 224, 3), 2048, (25_557_031, 25_557_033)),
])
def test_shapes_and_sizes(model, x_shape, features, params):
    variables, logits_shape, features_shape = _shapes(model, x_shape)
    assert logits_shape == (2, model.num_classes)
    assert features_shape == (2, features)
    if params:
        assert params[0] < count_params(variables["params"]) < params[1]


def test_batchnorm_statistics_are_the_global_batchs_under_four_devices():
    assert jax.local_device_count() == 4
    config = load_config(RESNET)
    one, losses1 = train_with(config, "pmap", jax.local_devices()[:1], 2)
    four, losses4 = train_with(config, "pmap", jax.local_devices(), 2)
    np.testing.assert_allclose(losses4, losses1, rtol=1e-5)
    assert "batch_stats" in one.model_state
    for a, b in zip(jax.tree.leaves((one.params, one.model_state)),
                    jax.tree.leaves((four.params, four.model_state))):
        np.testing.assert_allclose(a, b, rtol=2e-4, atol=2e-6)


def test_evaluation_scores_every_test_sample_once():
    config = load_config(LENET)  # eval batches of 64: the 450 test digits end in a part batch
    source, test = datasets.build(config)
    make_tx = functools.partial(make_optimizer, config.optimizer, config.learning_rate, 10)
    state = task.init_state(config, jax.random.PRNGKey(1), source.batch(0), make_tx)
    summary, images = task.evaluate(config, state, test)
    logits = task.build_model(config).apply({"params": state.params}, test["image"])
    expected = np.asarray(logits).argmax(-1) == test["label"]
    assert summary["count"] == 450 and np.sum(summary["confusion"]) == 450
    assert summary["accuracy"] == pytest.approx(expected.mean())
    assert np.array_equal(np.sum(summary["confusion"], axis=1), np.bincount(test["label"]))
    assert images == {} and "confusion" in task.format_report(summary)


def test_loss_decreases():
    config = load_config(LENET)
    apply_overrides(config, ["learning_rate=0.01", "optimizer.schedule=constant"])
    losses = losses_on_one_batch(config, 8)
    assert losses[-1] < 0.9 * losses[0], losses


@pytest.fixture(scope="module")
def classifier_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("cls")
    assert main(["train", "--config", LENET, "--workdir", str(workdir)]) == 0
    return workdir


def test_cli_eval_json(capsys, classifier_workdir):
    capsys.readouterr()
    assert main(["eval", "--workdir", str(classifier_workdir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["step"] == 4 and 0.0 <= result["accuracy"] <= 1.0
    assert np.asarray(result["confusion"]).shape == (10, 10)


def test_cli_sample_refuses_a_classifier(capsys, classifier_workdir, tmp_path):
    capsys.readouterr()
    code = main(["sample", "--workdir", str(classifier_workdir), str(tmp_path / "s.png")])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "cannot sample" in err, err
    assert not (tmp_path / "s.png").exists()
