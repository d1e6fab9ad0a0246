"""Timing a step the same way on both sides: warm-up calls, then one wall-clock measurement per
call with the device synchronised inside it, summarised by robust statistics."""
import time

import numpy as np

from benchmarks.load import OtherLoad


def time_calls(call, sync, *, warmup: int, steps: int) -> dict:
    """`call()` runs one step; `sync(result)` blocks until the device has finished it.

    The first call is timed on its own (it pays for tracing and compilation); warm-up calls
    are not recorded; each of the `steps` timed calls is [call, sync] so no work leaks from one
    timed step into the next.
    """
    start = time.perf_counter()
    sync(call())
    first = time.perf_counter() - start
    for _ in range(warmup):
        sync(call())
    times = []
    load = OtherLoad()  # over the timed steps only: compilation and its helper processes are done
    for _ in range(steps):
        start = time.perf_counter()
        sync(call())
        times.append(time.perf_counter() - start)
    return {"first_call_s": first, **summarize(times), **load.measure()}


def summarize(times) -> dict:
    t = np.asarray(times, dtype=np.float64)
    p10, p25, median, p75, p90 = np.percentile(t, [10, 25, 50, 75, 90])
    return {"steps": int(t.size), "median_s": float(median), "p10_s": float(p10),
            "p90_s": float(p90), "iqr_s": float(p75 - p25), "mean_s": float(t.mean()),
            "min_s": float(t.min()), "times_s": [float(x) for x in t]}
