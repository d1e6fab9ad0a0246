"""The FID/KID scorer of a generative config: `make_scorer(config)` reads its `evaluation`
section and returns a `jresgen.metrics.generative.GenerativeScorer` (or None when
`evaluation.classifier_workdir` is "" or the config has no such section).

    evaluation.classifier_workdir  a jresgen classifier's work directory, trained on the same
                                   data as the generative model (its penultimate layer gives the
                                   features, its logits the class histogram); "" disables
    evaluation.num_samples         samples scored; 0 = the real test split's size (the floor's)
    evaluation.kid_subset_size, evaluation.kid_subsets   KID's subsets
    evaluation.feature_network     optional, default "classifier": a key of FEATURE_NETWORKS

The real images are the classifier's own data (`jresgen.data.build` of its config): every
training image once, unaugmented, and the test split. A scorer is built once per process and
classifier directory: evaluations during training reuse the real-data statistics.
"""
import functools
import json
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jresgen import data as datasets
from jresgen.data.batching import padded_batches
from jresgen.errors import UserError
from jresgen.metrics.generative import GenerativeScorer

# Data keys that change how training batches are drawn (or where the files lie), not which
# images the splits hold.
_NOT_IMAGE_KEYS = ("max_shift", "eval_batch_size", "pad_crop", "random_flip",
                   "random_resized_crop", "data_dir", "decode_threads")

# The classifier config to suggest when a classifier work directory is missing, by the
# generative data's (name, image_size).
CLASSIFIER_CONFIGS = {("digits", 16): "configs/classifier_digits.py",
                      ("digits", 32): "configs/classifier_digits32.py",
                      ("cifar10", 32): "configs/resnet20_cifar10.py"}


@functools.partial(jax.jit, static_argnames=("model",))
def _features_and_logits(model, variables, images):
    from jresgen.models.classifier import penultimate_features
    return (penultimate_features(model, variables, images),
            model.apply(variables, images, train=False))


class ClassifierFeatureNetwork:
    """A jresgen classifier work directory as a FeatureNetwork: features = its penultimate
    layer (what its last dense layer sees), logits = its output, in eval mode."""

    def __init__(self, workdir):
        from jresgen.train.loop import load_workdir

        self.workdir = Path(workdir)
        config, task, state, test = load_workdir(self.workdir)
        if config.task != "classifier":
            raise UserError(f"evaluation.classifier_workdir {self.workdir} holds a "
                            f"{config.task!r} model, not a classifier")
        self.config, self.test_images = config, np.asarray(test["image"])
        self.model = task.build_model(config)
        self.variables = jax.device_put({"params": state.params, **state.model_state})
        self.name = f"classifier:{self.workdir} ({config.model.arch}, step {int(state.step)})"
        self.data_signature = {k: v for k, v in config.data.to_dict().items()
                               if k not in _NOT_IMAGE_KEYS}

    def real_images(self) -> tuple[np.ndarray, np.ndarray]:
        """(every training image, unaugmented; the test split), float [N, H, W, C] in [0, 1]."""
        source, _ = datasets.build(self.config)
        if not hasattr(source, "all_images"):
            raise UserError(f"FID/KID need a dataset whose training split can be listed; "
                            f"{self.config.data.name!r} cannot")
        return source.all_images(), self.test_images

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        features, logits = [], []
        for batch, mask in padded_batches({"image": np.asarray(images, np.float32)},
                                          self.config.data.eval_batch_size):
            f, g = _features_and_logits(self.model, self.variables, jnp.asarray(batch["image"]))
            features.append(np.asarray(f)[mask])
            logits.append(np.asarray(g)[mask])
        return np.concatenate(features), np.concatenate(logits)


# evaluation.feature_network -> class taking the evaluation section's classifier_workdir.
# An Inception network would join here (see jresgen/metrics/generative.py).
FEATURE_NETWORKS = {"classifier": ClassifierFeatureNetwork}


def _missing_classifier(workdir: Path, data) -> UserError:
    command = CLASSIFIER_CONFIGS.get((data.get("name"), data.get("image_size")),
                                     "configs/<a classifier config on the same data>.py")
    return UserError(f"classifier work directory {workdir} not found (evaluation."
                     f"classifier_workdir, for FID/KID); train it with: jresgen train --config "
                     f"{command} --workdir {workdir} (or set "
                     f"--config.evaluation.classifier_workdir='' to skip FID/KID)")


def _plain(value):
    return json.loads(json.dumps(value))  # tuples and lists compare equal after this


def check_same_data(network, data) -> None:
    """UserError unless `data` (a generative config's data section) holds the images the
    feature network was trained on."""
    differ = [f"{k}={_plain(data.get(k))!r} vs {_plain(v)!r}"
              for k, v in network.data_signature.items() if _plain(data.get(k)) != _plain(v)]
    if differ:
        raise UserError(f"{network.name} was trained on other data than this config's "
                        f"(config vs classifier: {', '.join(differ)}); FID/KID need a "
                        f"classifier of the same data")


@functools.lru_cache(maxsize=4)
def _cached_scorer(kind: str, workdir: str, kid_subset_size: int, kid_subsets: int):
    network = FEATURE_NETWORKS[kind](workdir)
    real_train, real_test = network.real_images()
    scorer = GenerativeScorer(network, real_train, real_test, kid_subset_size=kid_subset_size,
                              kid_subsets=kid_subsets, seed=0)
    return scorer


def make_scorer(config) -> GenerativeScorer | None:
    """The scorer of `config.evaluation`, None when FID/KID are disabled; UserError (one line)
    when the classifier directory is missing or was trained on other data."""
    ev = config.get("evaluation")
    if ev is None or not ev.get("classifier_workdir"):
        return None
    kind = ev.get("feature_network", "classifier")
    if kind not in FEATURE_NETWORKS:
        raise UserError(f"unknown evaluation.feature_network {kind!r}; known: "
                        f"{', '.join(sorted(FEATURE_NETWORKS))}")
    workdir = Path(ev.classifier_workdir)
    if not (workdir / "config.json").is_file():
        raise _missing_classifier(workdir, config.data)
    scorer = _cached_scorer(kind, str(workdir.resolve()), int(ev.kid_subset_size),
                            int(ev.kid_subsets))
    check_same_data(scorer.network, config.data)
    return scorer



class _LazyScorer:
    """make_scorer(config), built at the first attribute use."""

    def __init__(self, config):
        self._config, self._scorer = config, None

    def __getattr__(self, name):
        if self._scorer is None:
            self._scorer = make_scorer(self._config)
        return getattr(self._scorer, name)


def lazy_scorer(config):
    """None when FID/KID are disabled, else a scorer built (and checked) at its first use: for
    commands that may not score at all (`jresgen sample` needs no classifier)."""
    ev = config.get("evaluation")
    return _LazyScorer(config) if ev is not None and ev.get("classifier_workdir") else None
