"""Scoring a generative model's samples: Fréchet distance (FID), kernel distance (KID) and the
class histogram of the samples, all in the feature space of a fixed network.

Protocol (README "Generative evaluation"): the model's N samples are compared with the real
TRAINING split; the floor is the real TEST split against the same training split, i.e. what a
perfect model drawing N = (test split size) fresh images would score. Both figures are biased
by the number of samples (FID strongly, KID not), so compare them at one N only.

The feature network is pluggable: anything with the `FeatureNetwork` attributes works. jresgen
ships one backed by a jresgen classifier's penultimate layer (jresgen/train/scoring.py); a
standard Inception-v3 (pool3 features, 2048-d, with its 1008 logits) is added by writing a
class with the same three members that resizes [0, 1] images to 299x299 and runs it, and
registering it in `jresgen.train.scoring.FEATURE_NETWORKS`.
"""
from typing import Protocol

import numpy as np


class FeatureNetwork(Protocol):
    name: str
    # What the network was trained on (data.name, image_size, ...): samples are scored only
    # against the same data, as the network's features mean nothing elsewhere.
    data_signature: dict

    def embed(self, images: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """images float [N, H, W, C] in [0, 1] -> (features [N, D], logits [N, K])."""
        ...


def gaussian_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean [D], covariance [D, D]) of features [N, D], float64, unbiased (N - 1)."""
    f = np.asarray(features, np.float64)
    return f.mean(axis=0), np.cov(f, rowvar=False)


def _psd_sqrt(a: np.ndarray) -> np.ndarray:
    """Symmetric square root of a symmetric positive semi-definite matrix; eigenvalues that
    rounding made slightly negative are clipped to zero."""
    w, v = np.linalg.eigh((a + a.T) / 2)
    return (v * np.sqrt(np.clip(w, 0.0, None))) @ v.T


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + tr(S1) + tr(S2) - 2 tr((S1 S2)^(1/2)): the squared 2-Wasserstein
    distance between N(mu1, S1) and N(mu2, S2).

    tr((S1 S2)^(1/2)) = tr((A S2 A)^(1/2)) with A = S1^(1/2): S1 S2 is similar to A S2 A,
    which is symmetric PSD, so its eigenvalues are real and >= 0 and eigh is enough. This avoids
    scipy.linalg.sqrtm of the non-symmetric S1 S2, whose result goes complex or inaccurate when
    the covariances are singular (fewer samples than feature dimensions)."""
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    s1 = np.atleast_2d(np.asarray(sigma1, np.float64))
    s2 = np.atleast_2d(np.asarray(sigma2, np.float64))
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(f"shapes do not match: mu {mu1.shape} {mu2.shape}, "
                         f"sigma {s1.shape} {s2.shape}")
    a = _psd_sqrt(s1)
    cross = np.linalg.eigvalsh(a @ ((s2 + s2.T) / 2) @ a)
    tr_sqrt = np.sum(np.sqrt(np.clip(cross, 0.0, None)))
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2.0 * tr_sqrt)


def polynomial_kernel(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """KID's kernel k(x, y) = (x.y / D + 1)^3, [N, M] (Binkowski et al. 2018)."""
    return (x @ y.T / x.shape[1] + 1.0) ** 3


def mmd2_unbiased(x: np.ndarray, y: np.ndarray) -> float:
    """Unbiased estimate of MMD^2 between the distributions of x [m, D] and y [n, D] under the
    cubic polynomial kernel (diagonals of k(x, x) and k(y, y) left out)."""
    m, n = len(x), len(y)
    kxx, kyy, kxy = polynomial_kernel(x, x), polynomial_kernel(y, y), polynomial_kernel(x, y)
    return float((kxx.sum() - np.trace(kxx)) / (m * (m - 1))
                 + (kyy.sum() - np.trace(kyy)) / (n * (n - 1)) - 2.0 * kxy.mean())


def kernel_inception_distance(f1, f2, *, subset_size: int = 1000, subsets: int = 100,
                              seed: int = 0) -> tuple[float, float]:
    """(mean, std) over `subsets` draws of the unbiased MMD^2 between `subset_size` rows of f1
    and of f2, each drawn without replacement (subset_size is capped at the smaller set)."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    size = min(subset_size, len(f1), len(f2))
    if size < 2:
        raise ValueError(f"KID needs at least 2 samples per set, got {len(f1)} and {len(f2)}")
    rng = np.random.default_rng(seed)
    values = [mmd2_unbiased(f1[rng.choice(len(f1), size, replace=False)],
                            f2[rng.choice(len(f2), size, replace=False)])
              for _ in range(subsets)]
    return float(np.mean(values)), float(np.std(values))


def class_histogram(logits: np.ndarray) -> list[int]:
    """How many samples the network assigns to each of its K classes (argmax), K ints."""
    logits = np.asarray(logits)
    return np.bincount(logits.argmax(-1), minlength=logits.shape[-1]).tolist()


class GenerativeScorer:
    """FID/KID of samples against the real training split, with the real test split's figures
    as the floor, computed once here."""

    def __init__(self, network: FeatureNetwork, real_train: np.ndarray, real_test: np.ndarray,
                 *, kid_subset_size: int, kid_subsets: int, seed: int = 0):
        self.network = network
        self.image_shape = tuple(np.shape(real_train)[1:])
        self.kid_subset_size, self.kid_subsets, self.seed = kid_subset_size, kid_subsets, seed
        self.num_real_train, self.num_real_test = len(real_train), len(real_test)
        self._train_features, _ = network.embed(np.asarray(real_train, np.float32))
        self._train_stats = gaussian_statistics(self._train_features)
        test_features, test_logits = network.embed(np.asarray(real_test, np.float32))
        self.fid_floor, (self.kid_floor, self.kid_floor_std) = self._distances(test_features)
        self.real_test_histogram = class_histogram(test_logits)

    def default_num_samples(self, requested: int = 0) -> int:
        """`requested`, or the real test split's size when 0: the floor's sample count, so the
        model's figures and the floor carry the same small-sample bias."""
        return int(requested) or self.num_real_test

    def _distances(self, features):
        fid = frechet_distance(*gaussian_statistics(features), *self._train_stats)
        kid = kernel_inception_distance(features, self._train_features,
                                        subset_size=self.kid_subset_size,
                                        subsets=self.kid_subsets, seed=self.seed)
        return fid, kid

    def score(self, fake_images: np.ndarray) -> dict:
        """fake_images float [N, H, W, C] in [0, 1] -> the figures as a JSON-able dict."""
        fake = np.asarray(fake_images, np.float32)
        if fake.shape[1:] != self.image_shape:
            raise ValueError(f"samples of shape {fake.shape[1:]} cannot be scored by "
                             f"{self.network.name}, which takes {self.image_shape}")
        features, logits = self.network.embed(fake)
        fid, (kid, kid_std) = self._distances(features)
        return {"fid": fid, "kid": kid, "fid_floor": self.fid_floor, "kid_floor": self.kid_floor,
                "class_histogram": class_histogram(logits), "num_samples": int(len(fake)),
                "kid_std": kid_std, "kid_floor_std": self.kid_floor_std,
                "real_test_class_histogram": self.real_test_histogram,
                "num_real_train": self.num_real_train, "num_real_test": self.num_real_test,
                "feature_network": self.network.name}


def format_scores(summary: dict) -> str:
    """One line for a report: a score dict's figures beside their floors, and the coverage."""
    hist = summary["class_histogram"]
    return (f"FID {summary['fid']:.2f} (floor {summary['fid_floor']:.2f}), "
            f"KID {summary['kid']:.3f} +- {summary.get('kid_std', float('nan')):.3f} "
            f"(floor {summary['kid_floor']:.3f}) of {summary['num_samples']} samples vs "
            f"{summary.get('num_real_train', '?')} real training images; "
            f"classes seen {sum(1 for c in hist if c)}/{len(hist)}: {hist}")
