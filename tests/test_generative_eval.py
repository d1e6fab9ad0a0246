"""FID/KID: the Fréchet distance against scipy, KID's estimator by hand and on identical vs
shifted sets, the scorer on a tiny classifier work directory (floor, histogram, data checks),
and the VAE's `eval --json` with the scores."""
import json

import numpy as np
import pytest
import scipy.linalg

from conftest import CONFIGS
from jresgen.cli import main
from jresgen.config import apply_overrides, load_config
from jresgen.errors import UserError
from jresgen.metrics import generative as gen
from jresgen.train import scoring


def _scipy_frechet(mu1, s1, mu2, s2):
    """The textbook formula with scipy's general matrix square root (as pytorch-fid does)."""
    covmean = scipy.linalg.sqrtm(s1 @ s2)
    return float(np.sum((mu1 - mu2) ** 2) + np.trace(s1) + np.trace(s2)
                 - 2 * np.trace(np.real(covmean)))


@pytest.mark.parametrize("dim,samples", [(6, 200), (32, 500)])
def test_frechet_distance_matches_scipy(dim, samples):
    rng = np.random.default_rng(dim)
    a = rng.normal(size=(samples, dim)) @ rng.normal(size=(dim, dim))
    b = rng.normal(size=(samples, dim)) @ rng.normal(size=(dim, dim)) + rng.normal(size=dim)
    (mu1, s1), (mu2, s2) = gen.gaussian_statistics(a), gen.gaussian_statistics(b)
    expected = _scipy_frechet(mu1, s1, mu2, s2)
    assert gen.frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-8)
    assert gen.frechet_distance(mu2, s2, mu1, s1) == pytest.approx(expected, rel=1e-8)
    assert gen.frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8 * np.trace(s1))


def test_frechet_distance_closed_forms():
    # commuting (diagonal) covariances: sum (sqrt a - sqrt b)^2 plus the squared mean gap
    a, b = np.array([1.0, 4.0, 0.25]), np.array([9.0, 1.0, 0.0])  # b singular
    mu1, mu2 = np.zeros(3), np.array([1.0, -2.0, 0.5])
    expected = np.sum(mu2 ** 2) + np.sum((np.sqrt(a) - np.sqrt(b)) ** 2)
    got = gen.frechet_distance(mu1, np.diag(a), mu2, np.diag(b))
    assert got == pytest.approx(expected, rel=1e-12)
    # fewer samples than dimensions: singular covariances, still real and >= 0
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(10, 40)), rng.normal(size=(10, 40))
    fid = gen.frechet_distance(*gen.gaussian_statistics(x), *gen.gaussian_statistics(y))
    assert np.isfinite(fid) and fid > 0


def test_mmd_estimator_by_hand():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)) + 1
    k = lambda u, v: (u @ v / 3 + 1) ** 3  # noqa: E731
    xx = sum(k(x[i], x[j]) for i in range(5) for j in range(5) if i != j) / 20
    yy = sum(k(y[i], y[j]) for i in range(4) for j in range(4) if i != j) / 12
    xy = sum(k(x[i], y[j]) for i in range(5) for j in range(4)) / 20
    assert gen.mmd2_unbiased(x, y) == pytest.approx(xx + yy - 2 * xy, rel=1e-12)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
    rng = np.random.default_rng(2)
    f1, f2 = rng.normal(size=(600, 16)), rng.normal(size=(600, 16))
    same, same_std = gen.kernel_inception_distance(f1, f2, subset_size=200, subsets=50)
    shifted, _ = gen.kernel_inception_distance(f1, f2 + 0.5, subset_size=200, subsets=50)
    more, _ = gen.kernel_inception_distance(f1, f2 + 1.0, subset_size=200, subsets=50)
    assert abs(same) < same_std  # unbiased: zero within one subset's spread
    assert 0 < shifted < more and shifted > 20 * abs(same)
    again = gen.kernel_inception_distance(f1, f2, subset_size=200, subsets=50)
    assert again == (same, same_std)  # seeded


class _PixelNetwork:
    """A FeatureNetwork without any classifier: the protocol is all the scorer needs."""
    name, data_signature = "pixels", {}

    def embed(self, images):
        flat = images.reshape(len(images), -1)
        return flat, np.stack([flat.mean(1), flat.mean(1) + 1], axis=1)  # always class 1


def test_scorer_accepts_any_feature_network():
    rng = np.random.default_rng(3)
    train, test = rng.random((300, 4, 4, 1)), rng.random((100, 4, 4, 1))
    scorer = gen.GenerativeScorer(_PixelNetwork(), train, test, kid_subset_size=100,
                                  kid_subsets=10)
    result = scorer.score(test)
    assert result["fid"] == pytest.approx(scorer.fid_floor) and result["num_samples"] == 100
    assert result["class_histogram"] == [0, 100]
    with pytest.raises(ValueError, match="cannot be scored"):
        scorer.score(rng.random((10, 8, 8, 1)))


@pytest.fixture(scope="module")
def classifier_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("classifier")
    config = f"{CONFIGS / 'classifier_digits.py'}:tiny"
    assert main(["train", "--config", config, "--workdir", str(workdir)]) == 0
    return workdir


def _vae_config(classifier_workdir, *overrides):
    config = load_config(f"{CONFIGS / 'vae_digits.py'}:tiny")
    apply_overrides(config, [f"evaluation.classifier_workdir={classifier_workdir}",
                             "evaluation.kid_subsets=5", *overrides])
    return config


def test_scorer_floor_and_histogram(classifier_workdir):
    from jresgen.data import build
    from jresgen.tasks import classifier
    from jresgen.train.loop import load_workdir

    scorer = scoring.make_scorer(_vae_config(classifier_workdir))
    assert scoring.make_scorer(_vae_config(classifier_workdir)) is scorer  # once per process
    test = build(_vae_config(classifier_workdir))[1]["image"]
    assert scorer.num_real_train == 1347 and scorer.num_real_test == 450
    result = scorer.score(test)  # the test split itself: the floor exactly
    assert result["fid"] == pytest.approx(scorer.fid_floor) and result["num_samples"] == 450
    assert result["kid"] == pytest.approx(scorer.kid_floor)
    # the histogram is the classifier's own argmax (its task's predict_logits)
    config, _, state, _ = load_workdir(classifier_workdir)
    logits = classifier.predict_logits(config, state, test[::-1])
    assert scorer.score(test[::-1])["class_histogram"] == np.bincount(
        logits.argmax(-1), minlength=10).tolist()
    noise = scorer.score(np.random.default_rng(0).random((450, 16, 16, 1), np.float32))
    assert noise["fid"] > scorer.fid_floor and sum(noise["class_histogram"]) == 450


def test_scorer_refuses_other_data_and_missing_directories(classifier_workdir, tmp_path):
    with pytest.raises(UserError, match="image_size=32 vs 16"):
        scoring.make_scorer(_vae_config(classifier_workdir, "data.image_size=32"))
    with pytest.raises(UserError, match="resize='nearest' vs 'bilinear'"):
        scoring.make_scorer(_vae_config(classifier_workdir, "data.resize=nearest"))
    missing = tmp_path / "no_classifier"
    with pytest.raises(UserError) as e:
        scoring.make_scorer(_vae_config(missing))
    assert f"jresgen train --config configs/classifier_digits.py --workdir {missing}" \
        in str(e.value)
    assert scoring.make_scorer(_vae_config("")) is None


def test_cli_says_in_one_line_that_the_classifier_is_missing(capsys, tmp_path):
    capsys.readouterr()
    code = main(["train", "--config", f"{CONFIGS / 'vae_digits.py'}:tiny", "--workdir",
                 str(tmp_path / "vae"), f"--config.evaluation.classifier_workdir={tmp_path}/c"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1
    assert f"classifier work directory {tmp_path}/c not found" in err


def test_vae_eval_json_has_the_scores(capsys, classifier_workdir, tmp_path):
    workdir = tmp_path / "vae"
    assert main(["train", "--config", f"{CONFIGS / 'vae_digits.py'}:tiny", "--workdir",
                 str(workdir), f"--config.evaluation.classifier_workdir={classifier_workdir}",
                 "--config.evaluation.num_samples=100", "--config.model.prior=mixture"]) == 0
    capsys.readouterr()
    assert main(["eval", "--workdir", str(workdir), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert {"step", "nll_nats", "bits_per_dim", "fid", "kid", "fid_floor", "kid_floor",
            "class_histogram", "num_samples"} <= set(result)
    assert result["num_samples"] == 100 and sum(result["class_histogram"]) == 100
    assert len(result["class_histogram"]) == 10 and result["fid"] > result["fid_floor"]
    # `sample` needs no classifier; `eval` says in one line that it is gone
    saved = json.loads((workdir / "config.json").read_text())
    saved["evaluation"]["classifier_workdir"] = str(tmp_path / "gone")
    (workdir / "config.json").write_text(json.dumps(saved))
    assert main(["sample", "--workdir", str(workdir), "--num", "4", str(tmp_path / "s.png")]) == 0
    capsys.readouterr()
    assert main(["eval", "--workdir", str(workdir), "--json"]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and f"{tmp_path / 'gone'} not found" in err
