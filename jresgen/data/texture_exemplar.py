"""Data of a feed-forward texture network: one exemplar, and noise.

The net's training batches carry no images, only the global indices of the samples
{"index": int32 [B]} (step * B .. step * B + B - 1), a pure function of the step; the task
draws each sample's noise from its index, so 1 and N devices see the same noise. The target
is the exemplar's Gram matrices, computed once (jresgen/tasks/texture_net.py).

Evaluation data: {"exemplar": float32 [H, W, 3] in [0, 1], "grayscale": bool}, the exemplar
resized by `data.exemplar_scale` (default 1) when the config has it: the net is trained
against, and measured against, the same scaled exemplar (jresgen/data/exemplars.py).
"""
import numpy as np

from jresgen.data.rows import row_range


class SampleIndexSource:
    def __init__(self, batch_size: int):
        self.batch_size = batch_size

    def batch(self, step: int, rows=None) -> dict[str, np.ndarray]:
        """Step `step`'s global batch, or its `rows` (jresgen/data/rows.py)."""
        index = step * self.batch_size + np.asarray(row_range(rows, self.batch_size))
        return {"index": index.astype(np.int32)}


def exemplar_scale(config) -> float:
    """`config.data.exemplar_scale`, 1 (the exemplar as it is) for configs without the key."""
    return float(config.data.get("exemplar_scale", 1.0))


def build_texture_exemplar(config):
    """(SampleIndexSource, {"exemplar", "grayscale"}) for `config.data.exemplar`, a built-in
    name (brick, grass, gravel, a scikit-image photo) or an image file."""
    from jresgen.data.exemplars import load_exemplar

    exemplar, grayscale = load_exemplar(config.data.exemplar, exemplar_scale(config))
    return SampleIndexSource(config.batch_size), {"exemplar": exemplar, "grayscale": grayscale}
