"""The `jresgen` command restarts once with glibc's huge-page tunable (jresgen/_malloc_defaults.py)
unless the user chose otherwise, and the benchmark's tuned jresgen workers get it too."""
import os
import subprocess
import sys

import pytest

from conftest import ROOT
from jresgen._malloc_defaults import TUNABLES, THP_SETTING, tunables_to_set


def _thp(tmp_path, text):
    path = tmp_path / "enabled"
    path.write_text(text)
    return path


@pytest.fixture
def glibc(monkeypatch):
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr("platform.libc_ver", lambda: ("glibc", "2.36"))


@pytest.mark.parametrize("thp,want", [("always [madvise] never\n", TUNABLES),
                                      ("[always] madvise never\n", TUNABLES),
                                      ("always madvise [never]\n", None)])
def test_set_where_the_kernel_allows_huge_pages(tmp_path, glibc, thp, want):
    assert tunables_to_set({}, _thp(tmp_path, thp)) == want


def test_the_users_choice_wins(tmp_path, glibc):
    thp = _thp(tmp_path, "always [madvise] never\n")
    assert tunables_to_set({"GLIBC_TUNABLES": ""}, thp) is None  # even an empty setting
    assert tunables_to_set({"GLIBC_TUNABLES": "glibc.malloc.arena_max=1"}, thp) is None
    assert tunables_to_set({"JRESGEN_NO_XLA_DEFAULTS": "1"}, thp) is None
    assert tunables_to_set({}, tmp_path / "missing") is None


def test_not_outside_glibc(tmp_path, monkeypatch):
    thp = _thp(tmp_path, "always [madvise] never\n")
    monkeypatch.setattr("platform.libc_ver", lambda: ("", ""))
    assert tunables_to_set({}, thp) is None
    monkeypatch.setattr(sys, "platform", "darwin")
    assert tunables_to_set({}, thp) is None


def _command(extra_env):
    """What a process sees of GLIBC_TUNABLES before and after `jresgen.cli.main()` as the
    command (argv None): one line per start."""
    code = ("import os, sys\n"
            "print('T=' + os.environ.get('GLIBC_TUNABLES', '-'), flush=True)\n"
            "from jresgen.cli import main\n"
            "sys.argv = ['jresgen', 'frobnicate']\n"
            "sys.exit(main())\n")
    env = {k: v for k, v in os.environ.items()
           if k not in ("GLIBC_TUNABLES", "JRESGEN_NO_XLA_DEFAULTS")}
    env.update(PYTHONPATH=str(ROOT), **extra_env)
    return subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True,
                          timeout=60)


@pytest.mark.skipif(tunables_to_set({}, THP_SETTING) is None,
                    reason="no glibc with transparent huge pages here")
def test_the_command_restarts_once_with_the_tunable():
    done = _command({})
    assert done.stdout.splitlines() == ["T=-", f"T={TUNABLES}"]  # restarted once, then ran
    assert done.returncode == 2 and "invalid choice" in done.stderr  # the same command line
    kept = _command({"GLIBC_TUNABLES": "glibc.malloc.arena_max=2"})
    assert kept.stdout.splitlines() == ["T=glibc.malloc.arena_max=2"]  # no restart
    off = _command({"JRESGEN_NO_XLA_DEFAULTS": "1"})
    assert off.stdout.splitlines() == ["T=-"]


def test_benchmark_workers_timing_jresgens_defaults_get_it(monkeypatch):
    from benchmarks import run
    monkeypatch.setattr(run, "tunables_to_set", lambda env: TUNABLES)
    monkeypatch.delenv("GLIBC_TUNABLES", raising=False)
    assert run.worker_env("tuned", 2, "cpu").get("GLIBC_TUNABLES") == TUNABLES
    assert "GLIBC_TUNABLES" not in run.worker_env("default", 2, "cpu")
    assert "GLIBC_TUNABLES" not in run.worker_env(None, 2, "cpu")  # the PyTorch side
