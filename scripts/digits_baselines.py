"""Simple baselines on the digits split the digits configs use, for the README's comparisons.

    python scripts/digits_baselines.py

- classification: scikit-learn's SVC() (RBF kernel, default hyper-parameters) on the same
  train/test split, on the 16x16 images the classifiers see and on the 8x8 originals;
- density: a factorised model with the VAE's likelihood (an independent categorical over the
  17 levels per pixel) fitted on the training split with add-one smoothing, scored on the test
  split in nats per image and bits per dimension.
"""
import math

import numpy as np
from sklearn.svm import SVC

from jresgen.data.digits import LEVELS, load_split

SPLIT = dict(test_fraction=0.25, seed=0)  # configs/common_digits.py: test_fraction, split_seed


def factorised_categorical_nll(train: np.ndarray, test: np.ndarray) -> np.ndarray:
    """Per-image NLL (nats) of `test` levels [N, S, S, C] under per-pixel categoricals."""
    counts = np.stack([(train == level).sum(0) for level in range(LEVELS)], -1) + 1.0
    log_p = np.log(counts / counts.sum(-1, keepdims=True))
    picked = np.take_along_axis(log_p[None], test[..., None].astype(np.int64), -1)
    return -picked.reshape(len(test), -1).sum(1)


def main():
    (train_x, _), (test_x, _) = load_split(16, "bilinear", **SPLIT)
    nll = factorised_categorical_nll(train_x, test_x)
    dims = test_x[0].size
    print(f"factorised categorical, 16x16: {nll.mean():.2f} nats/image, "
          f"{nll.mean() / (dims * math.log(2)):.4f} bits/dim ({len(test_x)} test digits)")
    for size, method in ((16, "bilinear"), (8, "nearest")):
        (a, a_y), (b, b_y) = load_split(size, method, **SPLIT)
        accuracy = SVC().fit(a.reshape(len(a), -1) / 16, a_y).score(b.reshape(len(b), -1) / 16,
                                                                     b_y)
        print(f"SVC() RBF on {size}x{size}: test accuracy {accuracy:.4f}")


if __name__ == "__main__":
    main()
