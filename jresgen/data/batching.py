"""Fixed-shape evaluation batches over a whole split (one compilation, no sample dropped)."""
import numpy as np


def padded_batches(data: dict, batch_size: int):
    """Yields (batch, mask): fixed-size batches over every sample of `data`; the last batch is
    padded with copies of sample 0 and `mask` (bool [batch_size]) marks the real samples."""
    n = len(next(iter(data.values())))
    for start in range(0, n, batch_size):
        stop = min(start + batch_size, n)
        index = np.concatenate([np.arange(start, stop),
                                np.zeros(batch_size - (stop - start), np.int64)])
        yield {k: v[index] for k, v in data.items()}, np.arange(batch_size) < stop - start
