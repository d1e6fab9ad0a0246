"""Is anything else using the CPUs? A 2-core VM shared with test runs gives timings that mean
nothing: both libraries' thread pools stall when another process takes a core (an OpenMP
barrier waits for the descheduled thread). These helpers measure the CPU time that processes
other than this one used, and the time the hypervisor stole, from /proc/stat."""
import os
import resource
import time

_HZ = os.sysconf("SC_CLK_TCK")


def _ticks() -> tuple[int, int]:
    """(busy ticks excluding steal, steal ticks) summed over all CPUs."""
    with open("/proc/stat") as f:
        t = [int(v) for v in f.readline().split()[1:]]
    steal = t[7] if len(t) > 7 else 0
    return sum(t[:8]) - t[3] - t[4] - steal, steal


def _own_cpu_s(who) -> float:
    r = resource.getrusage(who)
    return r.ru_utime + r.ru_stime


class OtherLoad:
    """CPUs' worth of work done by other processes between construction and `measure()`.
    `who` is RUSAGE_SELF inside a worker (all its threads) or RUSAGE_CHILDREN in a parent
    that only waits (children count once they have been reaped)."""

    def __init__(self, who=resource.RUSAGE_SELF):
        self.who = who
        self.busy0, self.steal0 = _ticks()
        self.own0 = _own_cpu_s(who)
        self.t0 = time.perf_counter()

    def measure(self) -> dict:
        busy, steal = _ticks()
        wall = max(time.perf_counter() - self.t0, 1e-9)
        others = (busy - self.busy0) / _HZ - (_own_cpu_s(self.who) - self.own0)
        return {"other_cpu_load": max(0.0, others / wall),
                "steal_cpu": (steal - self.steal0) / _HZ / wall}


def wait_until_quiet(max_wait_s: float, threshold: float = 0.2, sample_s: float = 2.0) -> float:
    """Waits (up to `max_wait_s`) until other processes use under `threshold` CPUs over a
    `sample_s` window; returns the seconds waited."""
    start = time.perf_counter()
    while True:
        probe = OtherLoad()
        time.sleep(sample_s)
        waited = time.perf_counter() - start
        if probe.measure()["other_cpu_load"] < threshold or waited >= max_wait_s:
            return waited
