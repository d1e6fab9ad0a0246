"""Several processes, one run: two local processes (a loopback coordinator, two fake CPU devices
each, JAX's gloo collectives) train `configs/sr_x2.py:tiny` through `jresgen train
--coordinator ...` under both strategies and give the losses and parameters of one process with
four devices (this pytest process); only process 0 writes; a checkpoint resumes under another
process count. The flags' mistakes are one line, and a plain machine never starts
`jax.distributed`."""
import os
import re
import signal
import socket
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from conftest import CONFIGS, ROOT, one_line_error, tiny_sr_config
from jresgen.errors import UserError
from jresgen.train import distributed
from jresgen.train.loop import train_and_evaluate
from test_train_loop import _copy, _losses, _params, _records, _steps

TINY = f"{CONFIGS / 'sr_x2.py'}:tiny"
PROCESSES, DEVICES_EACH = 2, 2  # = the 4 devices of this process
TIMEOUT_S = 300  # a process that waits for a dead peer fails the test instead of hanging it


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _train_processes(workdir, *args, processes=PROCESSES, expect=0, meanwhile=None):
    """[(exit code, stdout, stderr)] of `jresgen train --workdir WORKDIR ARGS` run by
    `processes` local processes joined at a loopback coordinator; `meanwhile(procs)` runs
    while they train."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "JAX_PLATFORMS": "cpu",
           "XLA_FLAGS": f"--xla_force_host_platform_device_count={DEVICES_EACH}",
           "JAX_DISABLE_MOST_OPTIMIZATIONS": "1"}  # as the cheap_compilation fixture here
    coordinator = f"127.0.0.1:{_free_port()}"
    procs = [subprocess.Popen(
        [sys.executable, "-m", "jresgen.cli", "train", "--workdir", str(workdir), *args,
         "--coordinator", coordinator, "--num-processes", str(processes), "--process-id", str(k)],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for k in range(processes)]
    results = []
    try:
        if meanwhile is not None:
            meanwhile(procs)
        for p in procs:
            out, err = p.communicate(timeout=TIMEOUT_S)
            results.append((p.returncode, out, err))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
    for k, (code, _, err) in enumerate(results):
        assert code == expect, f"process {k}: {err[-3000:]}"
    return results


@pytest.fixture(scope="module")
def one_process(tmp_path_factory, cheap_compilation):
    """{strategy: work directory} of the tiny run trained by this process on its 4 devices."""
    assert jax.process_count() == 1 and jax.device_count() == PROCESSES * DEVICES_EACH
    dirs = {}
    for strategy in ("pmap", "jit"):
        dirs[strategy] = tmp_path_factory.mktemp(f"one_{strategy}")
        train_and_evaluate(tiny_sr_config(parallelism=strategy), dirs[strategy])
    return dirs


def _assert_same_run(workdir, reference):
    assert _steps(workdir) == _steps(reference) == [2, 4]
    got, want = _losses(workdir), _losses(reference)  # each step once: one writer
    assert [s for s, _ in got] == [s for s, _ in want] == [1, 2, 3, 4]
    np.testing.assert_allclose([v for _, v in got], [v for _, v in want], rtol=1e-5)
    for a, b in zip(_params(workdir), _params(reference), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


@pytest.fixture(scope="module")
def two_processes(tmp_path_factory):
    """{strategy: (work directory, per-process results)} of the same run by 2 processes."""
    runs = {}
    for strategy in ("pmap", "jit"):
        workdir = tmp_path_factory.mktemp(f"two_{strategy}")
        runs[strategy] = workdir, _train_processes(workdir, "--config", TINY,
                                                   f"--config.parallelism={strategy}")
    return runs


@pytest.mark.parametrize("strategy", ["pmap", "jit"])
def test_two_processes_train_as_one_process(strategy, one_process, two_processes):
    workdir, results = two_processes[strategy]
    _assert_same_run(workdir, one_process[strategy])
    assert (workdir / "config.json").exists() and list((workdir / "samples").glob("*.png"))
    assert "val_psnr_y" in _records(workdir)[-1]  # process 0 evaluated
    (_, out0, err0), (_, out1, err1) = results
    assert "PSNR-Y" in out0 and "step 4/4" in err0  # process 0 reports and shows progress
    # process 1 says nothing of its own. gloo, JAX's CPU collectives, announces its
    # connections itself from unsynchronised threads, so its messages can interleave and leave
    # fragments (a lone "1" line was seen): every word left must be a piece of gloo's message.
    assert not _own_words(out1) and not _own_words(err1)


_GLOO = "[Gloo] Rank 0 is connected to 1 peer ranks. Expected number of connected peer ranks is : 1"


def _own_words(text: str) -> list[str]:
    return [w for w in re.findall(r"[A-Za-z_]+", text) if w not in _GLOO]


def test_resume_under_another_process_count(one_process, two_processes, tmp_path,
                                            cheap_compilation):
    """One process's checkpoint resumed by two processes (pmap -> jit), and two processes'
    resumed by one (jit -> pmap): each goes on as if uninterrupted."""
    one_to_two = _copy(one_process["pmap"], tmp_path / "one_to_two", drop_after=2)
    _train_processes(one_to_two, "--config.parallelism=jit")  # no --config: resumes
    _assert_same_run(one_to_two, one_process["pmap"])

    two_to_one = _copy(two_processes["jit"][0], tmp_path / "two_to_one", drop_after=2)
    train_and_evaluate(tiny_sr_config(parallelism="pmap"), two_to_one)
    _assert_same_run(two_to_one, one_process["jit"])


@pytest.mark.slow
def test_ctrl_c_on_one_process_stops_all_at_the_same_step(tmp_path):
    """SIGINT to process 1 alone: both stop after the same log step, and save it."""
    def interrupt_process_1(procs):
        metrics = tmp_path / "metrics.jsonl"
        deadline = time.monotonic() + TIMEOUT_S
        while not (metrics.exists() and len(metrics.read_text().splitlines()) >= 2):
            assert time.monotonic() < deadline and all(p.poll() is None for p in procs)
            time.sleep(0.2)
        procs[1].send_signal(signal.SIGINT)
    results = _train_processes(tmp_path, "--config", TINY, "--config.total_steps=2000",
                               "--config.checkpoint_every=0", expect=130,
                               meanwhile=interrupt_process_1)
    step = _steps(tmp_path)
    assert len(step) == 1 and 2 <= step[0] < 2000
    for _, _, err in results:
        assert f"jresgen: interrupted at step {step[0]}; checkpoint saved" in err


@pytest.mark.parametrize("flags, match", [
    (["--coordinator", "h:1234"], "go together: --coordinator given without --num-processes"),
    (["--num-processes", "2", "--process-id", "0"], "without --coordinator"),
    (["--coordinator", "h", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--coordinator", "h:70000", "--num-processes", "2", "--process-id", "0"], "HOST:PORT"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "2"], "0..1"),
    (["--coordinator", "h:1", "--num-processes", "2", "--process-id", "-1"], "0..1"),
    (["--coordinator", "h:1", "--num-processes", "0", "--process-id", "0"], "at least 1"),
])
def test_bad_flags_are_one_line(capsys, tmp_path, flags, match):
    one_line_error(capsys, ["train", "--config", TINY, "--workdir", str(tmp_path), *flags],
                   match)
    assert not any(tmp_path.iterdir())


SLURM = {"SLURM_JOB_ID": "7", "SLURM_STEP_NODELIST": "n[1-2]", "SLURM_PROCID": "0",
         "SLURM_LOCALID": "0"}


@pytest.mark.parametrize("environ, cluster", [
    ({}, None),
    ({**SLURM, "SLURM_NTASKS": "1"}, None),  # one task: a plain process
    ({**SLURM, "SLURM_NTASKS": "2"}, "SLURM"),
    ({"SLURM_JOB_ID": "7", "SLURM_NTASKS": "2"}, None),  # the batch script, not an srun step
    ({"OMPI_COMM_WORLD_SIZE": "1", "OMPI_MCA_orte_hnp_uri": "1.0;tcp://h:1"}, None),
    ({"OMPI_COMM_WORLD_SIZE": "4", "OMPI_MCA_orte_hnp_uri": "1.0;tcp://h:1"}, "Open MPI"),
])
def test_cluster_detection(environ, cluster):
    assert distributed.detected_cluster(environ) == cluster


def test_plain_machine_stays_one_process():
    assert distributed.initialize(environ={}) is None
    assert not jax.distributed.is_initialized()
    with pytest.raises(UserError, match="cannot detect this Open MPI"):
        distributed.detected_cluster({"OMPI_COMM_WORLD_SIZE": "2"})
