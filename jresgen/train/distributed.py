"""Several processes (usually one per host) training one run with JAX's multi-process runtime.

    jresgen train --coordinator HOST:PORT --num-processes N --process-id K ...

`initialize` starts `jax.distributed` before any JAX computation:
- with the three flags, exactly as they say; JAX's cluster detection is switched off then, so
  every process uses all the devices it sees (under SLURM, JAX's detection would otherwise give
  each process only GPU number SLURM_LOCALID);
- with none, JAX's own auto-detection where a launcher started several processes: SLURM's
  `srun` with more than one task, Open MPI's `mpirun` with more than one rank, a Cloud TPU VM;
- anywhere else nothing: one process, as before (`jax.distributed` is never started on a
  plain machine).

What the processes share: the global batch is a pure function of seed and step, and each
process builds and feeds only its rows of it (`jresgen.train.parallel.process_slice`,
`source.batch(step, rows)`); process 0 alone writes files and prints progress (`is_main`);
checkpoints are collective (orbax).
"""
import os
import sys

from jresgen.errors import UserError

FLAGS = ("--coordinator", "--num-processes", "--process-id")


def parse_coordinator(text: str) -> tuple[str, int]:
    """'HOST:PORT' (or '[IPv6]:PORT') -> (host, port)."""
    host, sep, port = text.rpartition(":")
    if host.startswith("[") and host.endswith("]"):
        host = host[1:-1]
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise UserError(f"--coordinator takes HOST:PORT (e.g. node001:12345), got {text!r}")
    return host, int(port)


def check_flags(coordinator, num_processes, process_id) -> bool:
    """Whether the flags ask for several processes; a mistake in them is one UserError."""
    given = [f for f, v in zip(FLAGS, (coordinator, num_processes, process_id)) if v is not None]
    if not given:
        return False
    if len(given) < len(FLAGS):
        missing = [f for f in FLAGS if f not in given]
        raise UserError(f"{', '.join(FLAGS)} go together: {' and '.join(given)} given without "
                        f"{' and '.join(missing)}")
    parse_coordinator(coordinator)
    if num_processes < 1:
        raise UserError(f"--num-processes must be at least 1, got {num_processes}")
    if not 0 <= process_id < num_processes:
        raise UserError(f"--process-id must be in 0..{num_processes - 1} for "
                        f"--num-processes {num_processes}, got {process_id}")
    return True


def _int(environ, name) -> int:
    try:
        return int(environ.get(name, "0"))
    except ValueError:
        return 0


def detected_cluster(environ=os.environ) -> str | None:
    """The launcher that started this process as one of several, in JAX's own terms, or None.

    SLURM: inside an `srun` step (JAX reads the step's node list) with more than one task.
    Open MPI: `mpirun` (before 5.0, which JAX's detection reads) with more than one rank.
    Cloud TPU: any Cloud TPU VM (JAX's TPU runtime spans the pod slice; on one host the
    cluster is one process), as JAX recommends for TPUs."""
    slurm = ("SLURM_JOB_ID", "SLURM_STEP_NODELIST", "SLURM_NTASKS", "SLURM_PROCID",
             "SLURM_LOCALID")
    if all(k in environ for k in slurm) and _int(environ, "SLURM_NTASKS") > 1:
        return "SLURM"
    if _int(environ, "OMPI_COMM_WORLD_SIZE") > 1:
        if "OMPI_MCA_orte_hnp_uri" not in environ:  # Open MPI 5 (PMIx): JAX cannot read it
            raise UserError("started by mpirun with several ranks, but JAX cannot detect this "
                            "Open MPI version: pass --coordinator HOST:PORT --num-processes N "
                            "--process-id $OMPI_COMM_WORLD_RANK")
        return "Open MPI"
    if _on_cloud_tpu_vm():
        return "Cloud TPU"
    return None


def _on_cloud_tpu_vm() -> bool:
    try:  # set by `import jax` when it finds TPU chips and libtpu; no public equivalent
        from jax._src import cloud_tpu_init
    except ImportError:
        return False
    return bool(getattr(cloud_tpu_init, "running_in_cloud_tpu_vm", False))


def initialize(coordinator=None, num_processes=None, process_id=None,
               environ=os.environ) -> str | None:
    """Starts `jax.distributed` as the module docstring says; returns how ("flags", "SLURM",
    ...) or None for a single process. Must run before any JAX computation."""
    explicit = check_flags(coordinator, num_processes, process_id)
    how = "flags" if explicit else detected_cluster(environ)
    if how is None:
        return None
    import jax
    try:
        if explicit:
            jax.distributed.initialize(coordinator_address=coordinator,
                                       num_processes=num_processes, process_id=process_id,
                                       cluster_detection_method="deactivate")
        else:
            jax.distributed.initialize()
    except (RuntimeError, ValueError) as e:
        if how == "Cloud TPU" and isinstance(e, ValueError):  # a TPU VM outside any pod
            print(f"jresgen: warning: Cloud TPU VM, but JAX found no pod slice to join "
                  f"({_first_line(e)}); training as one process", file=sys.stderr)
            return None
        where = f"at {coordinator} as process {process_id} of {num_processes}" if explicit \
            else f"detected from {how}"
        raise UserError(f"could not join the cluster {where}: {_first_line(e)}") from e
    return how


def _first_line(error: BaseException) -> str:
    lines = str(error).strip().splitlines()
    return lines[0] if lines else type(error).__name__


def is_main() -> bool:
    """Whether this process writes the run's files and prints its progress (process 0)."""
    import jax
    return jax.process_index() == 0


def sync(name: str) -> None:
    """Waits until every process has reached the point called `name` (no-op alone)."""
    import jax
    if jax.process_count() > 1:
        from jax.experimental import multihost_utils
        multihost_utils.sync_global_devices(name)


def any_process(flag: bool) -> bool:
    """Whether `flag` is true on any process; every process must call it at the same point."""
    import jax
    if jax.process_count() == 1:
        return flag
    import numpy as np
    from jax.experimental import multihost_utils
    return bool(np.any(multihost_utils.process_allgather(np.int32(flag))))
