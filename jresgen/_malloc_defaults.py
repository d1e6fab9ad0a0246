"""Transparent huge pages for malloc'd memory: the `jresgen` command's glibc setting on Linux.

Why: an XLA:CPU train step allocates and frees megabyte activation buffers every step, and
glibc serves them from fresh mappings that the kernel faults in 4 KiB at a time: 400 sr_x2 steps
took 7.2 million page faults and a quarter of the CPU time in the kernel. glibc's tunable
`glibc.malloc.hugetlb=1` makes malloc ask for transparent huge pages (madvise), one fault per
2 MiB: 0.34 million faults, and the sr_x2 train step 66.5 -> 47.3 ms on this 2-core CPU
(benchmarks/README.md, "Huge pages"). The kernel must allow THP ("always" or "madvise").

glibc reads GLIBC_TUNABLES only when a process starts, so the `jresgen` command re-executes
itself once with it set, before anything heavy is imported (main() in jresgen/cli.py). It is
left alone when the user set GLIBC_TUNABLES, with JRESGEN_NO_XLA_DEFAULTS=1 (the switch for
all of jresgen's CPU defaults, jresgen/_xla_defaults.py), outside Linux with glibc, and where
the kernel's THP is "never". A program that imports jresgen as a library can export
GLIBC_TUNABLES=glibc.malloc.hugetlb=1 itself.
"""
import os
import platform
import sys
from pathlib import Path

TUNABLES = "glibc.malloc.hugetlb=1"
THP_SETTING = Path("/sys/kernel/mm/transparent_hugepage/enabled")


def tunables_to_set(environ=os.environ, thp_setting: Path = THP_SETTING) -> str | None:
    """The GLIBC_TUNABLES value the process should restart with, or None to run as it is."""
    if "GLIBC_TUNABLES" in environ or environ.get("JRESGEN_NO_XLA_DEFAULTS") == "1":
        return None
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return None
    try:
        if "[never]" in thp_setting.read_text():
            return None
    except OSError:
        return None
    return TUNABLES


def restart_with_huge_pages() -> None:
    """Re-executes this process's own command line with the tunable set, when it should be;
    returns only when it should not (or the exec fails: then it runs as it is)."""
    value = tunables_to_set()
    if value is None:
        return
    env = {**os.environ, "GLIBC_TUNABLES": value}
    try:
        os.execve(sys.executable, [sys.executable, *sys.orig_argv[1:]], env)
    except OSError:
        pass
