"""Hands jresgen's initial parameters and one forward output from the JAX worker to the
PyTorch workers (separate processes), as one .npz per family. Keys are '/'-joined Flax paths."""
from pathlib import Path

import numpy as np


def _flatten(tree, prefix=""):
    for key, value in tree.items():
        if hasattr(value, "items"):
            yield from _flatten(value, f"{prefix}{key}/")
        else:
            yield f"{prefix}{key}", np.asarray(value, dtype=np.float32)


def save(directory, family: str, params, forward_output: np.ndarray) -> Path:
    path = Path(directory) / f"{family}.npz"
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, **{f"params/{k}": v for k, v in _flatten(params)}, forward_output=forward_output)
    return path


def load(directory, family: str) -> tuple[dict, np.ndarray]:
    """(nested params dict, forward output)."""
    params = {}
    with np.load(Path(directory) / f"{family}.npz") as data:
        for key in data.files:
            if not key.startswith("params/"):
                continue
            *parents, leaf = key[len("params/"):].split("/")
            node = params
            for p in parents:
                node = node.setdefault(p, {})
            node[leaf] = data[key]
        return params, data["forward_output"]
