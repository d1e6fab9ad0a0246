"""Rows of a global batch: how a process builds only its part of each step's batch.

Every train source has `batch(step, rows=None)`: `rows` (a `slice` or `range` of the global
batch's row indices; None = all of them) picks the rows to build, and
`source.batch(step, rows)` equals `source.batch(step)[rows]` bit for bit. Sample i of step t
depends on (seed, t, i) only, never on which other rows are built, so with several processes
each builds (decodes, crops, degrades) only its own rows (jresgen/train/parallel.py
`process_slice`).

Where a source draws its random numbers for the whole batch from one generator, it still draws
them all (cheap: a few integers a sample) and does the expensive work for the asked rows only.
"""


def row_range(rows, batch_size: int) -> range:
    """The global batch's row indices that `rows` (None, a slice or a range) names."""
    if rows is None:
        return range(batch_size)
    if isinstance(rows, slice):
        return range(*rows.indices(batch_size))
    if isinstance(rows, range):
        return range(*slice(rows.start, rows.stop, rows.step).indices(batch_size))
    raise TypeError(f"rows must be None, a slice or a range, got {type(rows).__name__}")


def draw_order(rows) -> list[tuple[int, int | None]]:
    """For a source that draws its samples' numbers in order from one generator: (sample,
    position in the output or None) for every sample up to the last of `rows` (a row_range),
    so the samples before an asked one are drawn but only the asked ones are built."""
    where = {i: j for j, i in enumerate(rows)}
    return [(i, where.get(i)) for i in range(max(rows, default=-1) + 1)]
