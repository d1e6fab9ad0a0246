"""Random access to a prepared TFDS dataset, and the one-line errors when it cannot be read.

`open_split` returns `tfds.data_source(...)[split]` (ArrayRecord: `len()` and `[index]` give
one decoded example, numpy arrays, no TensorFlow). Only this module imports
tensorflow_datasets, and only when a TFDS dataset is asked for. Nothing is downloaded: a
dataset must be prepared (`tfds build NAME --data_dir DIR --file_format=array_record`) on a
machine with internet, where building most datasets needs TensorFlow too, and copied here.

`Records` wraps a split for the sources: decoding several examples on threads (PIL and the
ArrayRecord reader release the GIL), and an optional cache of what a source made of an example
(DIV2K's PNGs take ~50 ms each to decode; the cache makes every epoch after the first cheap).
"""
import os
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from jresgen.errors import UserError

INSTALL = "pip install 'jresgen[tfds]'"


def prepare_command(name: str, data_dir: str) -> str:
    return (f"tfds build {name} --data_dir {data_dir or '~/tensorflow_datasets'} "
            f"--file_format=array_record")


def _import_tfds(name: str):
    try:
        import tensorflow_datasets as tfds
    except ImportError as e:
        raise UserError(f"dataset {name!r} needs TensorFlow Datasets: {INSTALL} "
                        f"(the embedded sets need nothing more; import failed: {e})") from e
    return tfds


def _why_unreadable(tfds, name: str, split: str, data_dir: str, error: Exception) -> UserError:
    """The one line for a dataset that `tfds.data_source` could not open."""
    where = data_dir or "TFDS's default data_dir (~/tensorflow_datasets or $TFDS_DATA_DIR)"
    how = (f"prepare it on a machine with internet (pip install tensorflow tensorflow-datasets; "
           f"{prepare_command(name, data_dir)}) and copy the directory here, or point "
           f"data.data_dir at it")
    try:
        builder = tfds.builder(name, data_dir=data_dir or None)
        prepared = builder.is_prepared()
        file_format = str(getattr(builder.info, "file_format", "") or "")
    except Exception:  # noqa: BLE001 - the diagnosis must not hide the first error
        prepared, file_format = False, ""
    if not prepared:
        return UserError(f"dataset {name!r} is not prepared in {where}: {how}")
    if "array_record" not in file_format.lower():
        return UserError(f"dataset {name!r} in {where} is prepared as "
                         f"{file_format or 'TFRecord'}, which has no random access: convert it "
                         f"with `tfds convert_format "
                         f"--root_data_dir {data_dir or '~/tensorflow_datasets'} "
                         f"--out_file_format array_record` or rebuild it with "
                         f"{prepare_command(name, data_dir)}")
    if isinstance(error, (KeyError, ValueError)) and "split" in str(error).lower():
        return UserError(f"dataset {name!r} has no split {split!r}: "
                         f"{' '.join(str(error).split())[:200]}")
    return UserError(f"dataset {name!r} in {where} cannot be read: "
                     f"{' '.join(str(error).split())[:300]}")


def open_split(name: str, split: str, data_dir: str = ""):
    """The random-access source of `split` of the TFDS dataset `name` ("cifar10",
    "div2k/bicubic_x2", ...) in `data_dir` ("" = TFDS's default); UserError (one line) when
    TFDS is missing or the dataset is not prepared there."""
    tfds = _import_tfds(name)
    import absl.logging
    # TFDS warns once that OpenCV would decode faster than PIL: not the user's concern.
    absl.logging.set_verbosity(absl.logging.ERROR)
    try:
        return tfds.data_source(name, split=split, data_dir=data_dir or None, download=False)
    except tfds.core.registered.DatasetNotFoundError as e:
        raise UserError(f"TFDS has no dataset {name!r} (data.tfds_name)") from e
    except Exception as e:  # noqa: BLE001 - TFDS raises assorted types for a missing dataset
        raise _why_unreadable(tfds, name, split, data_dir, e) from e


def default_threads() -> int:
    return min(8, os.cpu_count() or 1)


class Records:
    """A split's examples through `make(example, index) -> value`, made on `threads` threads; with
    `cache=True` each example is made once per process and kept (memory: the values')."""

    def __init__(self, split, make, threads: int = 0, cache: bool = False):
        self.split, self.make, self.cache = split, make, {} if cache else None
        self.pool = ThreadPoolExecutor(threads or default_threads())
        self.lock = threading.Lock()

    def __len__(self) -> int:
        return len(self.split)

    def get(self, index: int):
        index = int(index)
        if self.cache is not None and index in self.cache:
            return self.cache[index]
        value = self.make(self.split[index], index)
        if self.cache is not None:
            with self.lock:
                self.cache[index] = value
        return value

    def map(self, fn, items) -> list:
        """[fn(item) for item in items], on the pool's threads."""
        return list(self.pool.map(fn, items))

    def get_many(self, indices) -> list:
        return self.map(self.get, indices)

    def __getstate__(self):  # sources are copied (sweeps); pools and locks are not copyable
        return {"split": self.split, "make": self.make, "cache": self.cache,
                "threads": self.pool._max_workers}

    def __setstate__(self, state):
        self.__init__(state["split"], state["make"], state["threads"], False)
        self.cache = state["cache"]


def epoch_index(seed: int, n: int, k: np.ndarray, tag: int = 0) -> np.ndarray:
    """Example index of global samples `k`: position k mod n of epoch k // n's permutation
    of range(n), seeded by (seed, tag, epoch), so every example is seen once per epoch and
    sample k depends only on (seed, k)."""
    k = np.asarray(k, np.int64)
    out = np.empty_like(k)
    for epoch in np.unique(k // n):
        perm = _permutation(seed, tag, n, int(epoch))
        mask = k // n == epoch
        out[mask] = perm[k[mask] % n]
    return out


_PERMUTATIONS: dict = {}


def _permutation(seed, tag, n, epoch) -> np.ndarray:
    key = (seed, tag, n, epoch)
    perm = _PERMUTATIONS.get(key)  # one lookup: prefetch threads may clear the dict meanwhile
    if perm is None:
        perm = np.random.default_rng((seed, tag, epoch)).permutation(n)
        if len(_PERMUTATIONS) > 8:
            _PERMUTATIONS.clear()
        _PERMUTATIONS[key] = perm
    return perm
