"""Batches for GAN training: one train step runs `n_dis` discriminator updates, each on its own
real batch, so a step's batch stacks n_dis consecutive batches of the underlying source along
axis 1: {"image": [B, n_dis, H, W, C], "label": [B, n_dis]}. Sharding splits axis 0, so every
device holds its part of each discriminator step's batch, and a run's data does not depend on
the device count. Still a pure function of (seed, step)."""
import numpy as np


class StackedDraws:
    def __init__(self, source, n: int):
        self.source, self.n = source, n
        self.batch_size = source.batch_size

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s batch, or its `rows` (jresgen/data/rows.py) of each draw."""
        draws = [self.source.batch(step * self.n + i, rows) for i in range(self.n)]
        return {k: np.stack([d[k] for d in draws], axis=1) for k in draws[0]}

    def __getattr__(self, name):  # e.g. all_images() for the FID scorer
        if name == "source":  # not set yet (copying, unpickling)
            raise AttributeError(name)
        return getattr(self.source, name)
