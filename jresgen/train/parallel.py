"""Data parallelism over all devices of all processes, two strategies behind one interface.

    strategy = make_strategy(config.parallelism)
    step = strategy.compile(functools.partial(task.train_step, config=config,
                                              axis_name=strategy.axis_name))
    dstate = strategy.replicate(state)
    dstate, metrics = step(dstate, strategy.shard(global_batch))

"pmap": the state is replicated, the global batch reshaped to [devices, per_device, ...], the
step `jax.pmap`-ed over the axis "data"; the task averages gradients, metrics and BatchNorm
statistics with `lax.pmean` over `axis_name`.
"jit": global arrays on a Mesh with a "data" axis, the batch sharded with P("data"), the state
replicated and donated, one `jax.jit`; XLA inserts the collectives, so `axis_name` is None and
the task's means over the global batch are already global.

Both see the same global batch, so N devices and one device give the same parameters.

Several processes (jresgen/train/distributed.py): process k feeds the k-th of P equal blocks of
each global batch (`process_slice`: both strategies lay the devices out process by process). The
loop's input builds only those rows (`source.batch(step, rows)`, jresgen/data/rows.py) and hands
them to `shard_local`; `shard` takes a whole global batch and keeps the rows itself. "pmap" maps over each process's local
devices and its `pmean` runs over the devices of all processes; "jit" builds one mesh over all
of them. With one process, `devices` picks a subset (tests, benchmarks); with several, each
process uses all its local devices.

One copy of the state: `init(fn)` runs the task's initialisation under `jax.jit` with the
strategy's output placement, so the state is born where the step needs it; a checkpoint is
restored into `restore_sharding` (replicated over every device of every process) and handed
to `place`; `for_checkpoint` gives that same layout, so a checkpoint does not depend on the
strategy, the device count or the process count. `local_state` is the state as one device's
arrays (for evaluation) without a host copy. Metrics stay on the devices: the loop keeps each
step's metrics and calls `metrics_to_host` at log steps only.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jresgen.errors import UserError

AXIS = "data"


def all_devices(local=None) -> list:
    """The devices a run spans, process by process (pmap's own order): `local` (default: all
    local devices) when this is the only process, else every process's local devices."""
    if jax.process_count() == 1:
        return list(local or jax.local_devices())
    return [d for p in range(jax.process_count()) for d in jax.local_devices(process_index=p)]


def process_slice(batch_size: int) -> slice | None:
    """This process's rows of a global batch of `batch_size` (axis 0): the k-th of P equal
    blocks, the rows its devices hold in both strategies' layout; None (every row) when there
    is one process. A train source builds only these (`source.batch(step, rows)`)."""
    count = jax.process_count()
    if count == 1:
        return None
    n, k = batch_size // count, jax.process_index()
    return slice(k * n, (k + 1) * n)


def process_rows(batch):
    """This process's rows (`process_slice`) of a global batch already built whole."""
    if jax.process_count() == 1:
        return batch
    return jax.tree.map(lambda x: x[process_slice(x.shape[0])], batch)


class PmapStrategy:
    def __init__(self, devices=None):
        self.devices = list(devices or jax.local_devices())  # this process's
        self.global_devices = all_devices(self.devices)
        # pmap's inputs carry a leading device axis; placing them with this sharding up front
        # spares pmap a re-layout every step.
        self.stacked = NamedSharding(Mesh(np.array(self.devices), (AXIS,)), P(AXIS))
        self.restore_sharding = NamedSharding(Mesh(np.array(self.global_devices), (AXIS,)), P())

    @property
    def num_devices(self) -> int:
        """Devices of all processes: the global batch is split over them."""
        return len(self.global_devices)

    @property
    def axis_name(self) -> str | None:
        """The axis the task's means run over; None on one device, where a mean over devices
        is the identity: each `pmean` left in the program is a cross-device reduction that
        XLA cannot fuse across, which cost the BatchNorm-heavy DCGAN step 12 %."""
        return AXIS if self.num_devices > 1 else None

    def init(self, make_state, *args):
        """The state `make_state(*args)` builds, computed once and written straight into every
        device's replica. Pass the RNG key as an argument: a state computed from constants
        alone is constant-folded by XLA, which evaluates whole forward passes at compile time
        (minutes for a GAN)."""
        n = len(self.devices)

        def stacked(*args):
            return jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), make_state(*args))
        return jax.jit(stacked, out_shardings=self.stacked)(*args)

    def place(self, state):
        """A state restored into `restore_sharding` (or on any one device) -> the replicated
        layout, leaf by leaf: each device stacks the replica it already holds (a device
        without one gets a copy), and each source leaf is freed once copied (the state is
        never held twice)."""
        def leaf(x):
            held = {s.device: s.data for s in x.addressable_shards}
            some = next(iter(held.values()))
            shards = [jnp.expand_dims(held[d] if d in held else jax.device_put(some, d), 0)
                      for d in self.devices]
            out = jax.make_array_from_single_device_arrays((len(self.devices), *x.shape),
                                                           self.stacked, shards)
            x.delete()
            return out
        return jax.tree.map(leaf, state)

    def replicate(self, state):
        """A host state -> the replicated layout."""
        n = len(self.devices)
        stacked = jax.tree.map(lambda x: np.broadcast_to(x, (n, *np.shape(x))), state)
        return jax.device_put(stacked, self.stacked)

    def local_state(self, state):
        """Replica 0 as arrays on the first device (one device-side copy, no host copy)."""
        first = jax.tree.map(lambda x: x.addressable_data(0), state)
        return _drop_leading_axis(first)

    def for_checkpoint(self, state):
        """The state in `restore_sharding`: each device's own replica without its device axis
        (no transfer), so orbax writes one copy whatever the devices and processes."""
        def leaf(x):
            shards = [jnp.squeeze(s.data, 0) for s in x.addressable_shards]
            return jax.make_array_from_single_device_arrays(x.shape[1:], self.restore_sharding,
                                                            shards)
        return jax.tree.map(leaf, state)

    def unreplicate(self, state):
        """The host copy of a replicated state (replica 0; all replicas are equal)."""
        return jax.device_get(jax.tree.map(lambda x: x.addressable_data(0)[0], state))

    def shard(self, batch):
        """The global batch -> this process's rows as [local devices, per device, ...]."""
        return self.shard_local(process_rows(batch))

    def shard_local(self, rows):
        """This process's rows of a global batch (`process_slice`; the whole batch when one
        process) -> [local devices, per device, ...] on them."""
        n = len(self.devices)
        per_device = jax.tree.map(lambda x: np.reshape(x, (n, x.shape[0] // n, *x.shape[1:])),
                                  rows)
        return jax.device_put(per_device, self.stacked)

    def compile(self, step_fn):
        """step_fn(state, batch) -> (state, metrics); metrics keep their device axis (read
        them with `metrics_to_host`), so nothing is sliced or fetched per step."""
        # Several processes: pmap must be given all of their devices or None (all of them).
        devices = self.devices if jax.process_count() == 1 else None
        return jax.pmap(step_fn, axis_name=AXIS, devices=devices, donate_argnums=(0,))

    @staticmethod
    def first_replica(metrics) -> dict[str, np.ndarray]:
        """{name: host array} of replica 0 (the task averaged them over devices): a scalar,
        or [K] for a sweep's K variants."""
        return {k: np.asarray(v)[0] for k, v in jax.device_get(metrics).items()}

    @classmethod
    def metrics_to_host(cls, metrics) -> dict:
        """{name: float} of a single run's metrics."""
        return {k: float(v) for k, v in cls.first_replica(metrics).items()}


@jax.jit
def _drop_leading_axis(tree):
    return jax.tree.map(lambda x: x[0], tree)


class JitStrategy:
    axis_name = None

    def __init__(self, devices=None):
        self.devices = all_devices(devices)  # of all processes
        self.mesh = Mesh(np.array(self.devices), (AXIS,))
        self.replicated = NamedSharding(self.mesh, P())
        self.batch_sharding = NamedSharding(self.mesh, P(AXIS))
        self.restore_sharding = self.replicated

    @property
    def num_devices(self) -> int:
        return len(self.devices)

    def init(self, make_state, *args):
        """See PmapStrategy.init."""
        return jax.jit(make_state, out_shardings=self.replicated)(*args)

    def place(self, state):
        return state  # restored with `restore_sharding`, already in place

    def replicate(self, state):
        return jax.device_put(state, self.replicated)

    def local_state(self, state):
        """One device's replica: the same buffers, no copy."""
        return jax.tree.map(lambda x: x.addressable_data(0), state)

    def for_checkpoint(self, state):
        return state  # global arrays: orbax writes one replica

    def unreplicate(self, state):
        return jax.device_get(state)

    def shard(self, batch):
        """The global batch -> a global array of which this process supplies its rows."""
        return self.shard_local(process_rows(batch))

    def shard_local(self, rows):
        """This process's rows of a global batch (`process_slice`; the whole batch when one
        process) -> the global array (P equal blocks, this process's its own)."""
        count = jax.process_count()
        return jax.tree.map(
            lambda x: jax.make_array_from_process_local_data(
                self.batch_sharding, x, global_shape=(x.shape[0] * count, *x.shape[1:])),
            rows)

    def compile(self, step_fn):
        return jax.jit(step_fn, in_shardings=(self.replicated, self.batch_sharding),
                       out_shardings=(self.replicated, self.replicated), donate_argnums=(0,))

    @staticmethod
    def first_replica(metrics) -> dict[str, np.ndarray]:
        return {k: np.asarray(v) for k, v in jax.device_get(metrics).items()}

    @classmethod
    def metrics_to_host(cls, metrics) -> dict:
        return {k: float(v) for k, v in cls.first_replica(metrics).items()}


def make_strategy(name: str, devices=None):
    if name == "pmap":
        return PmapStrategy(devices)
    if name == "jit":
        return JitStrategy(devices)
    raise UserError(f"parallelism must be 'pmap' or 'jit', got {name!r}")


def check_batch_size(batch_size: int, num_devices: int) -> None:
    """`num_devices`: of all processes (`strategy.num_devices`)."""
    if batch_size % num_devices:
        where = f" of {jax.process_count()} processes" if jax.process_count() > 1 else ""
        raise UserError(f"batch_size {batch_size} is not divisible by the {num_devices} "
                        f"devices{where}; choose a multiple of {num_devices}")
