"""Data parallelism over all local devices, two strategies behind one interface.

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

One copy of the state: `init(fn)` runs the task's initialisation under `jax.jit` with the
strategy's output placement, so the state is born where the step needs it; a checkpoint is
restored into `restore_sharding` and handed to `place`. `local_state` is the state as one
device's arrays (for checkpoints and evaluation) without a host copy. Metrics stay on the
devices: the loop keeps each step's metrics and calls `metrics_to_host` at log steps only.
"""
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P, SingleDeviceSharding

from jresgen.errors import UserError

AXIS = "data"


class PmapStrategy:
    def __init__(self, devices=None):
        self.devices = list(devices or jax.local_devices())
        # pmap's inputs carry a leading device axis; placing them with this sharding up front
        # spares pmap a re-layout every step.
        self.stacked = NamedSharding(Mesh(np.array(self.devices), (AXIS,)), P(AXIS))
        self.restore_sharding = SingleDeviceSharding(self.devices[0])

    @property
    def num_devices(self) -> int:
        return len(self.devices)

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
        n = self.num_devices

        def stacked(*args):
            return jax.tree.map(lambda x: jnp.broadcast_to(x, (n, *x.shape)), make_state(*args))
        return jax.jit(stacked, out_shardings=self.stacked)(*args)

    def place(self, state):
        """A state on `restore_sharding`'s device -> the replicated layout, leaf by leaf, each
        source leaf freed once copied (the state is never held twice)."""
        def leaf(x):
            one = jnp.expand_dims(x, 0)
            shards = [one] + [jax.device_put(one, d) for d in self.devices[1:]]
            out = jax.make_array_from_single_device_arrays((self.num_devices, *x.shape),
                                                           self.stacked, shards)
            if isinstance(x, jax.Array) and one is not x:
                x.delete()
            return out
        return jax.tree.map(leaf, state)

    def replicate(self, state):
        """A host state -> the replicated layout."""
        n = self.num_devices
        stacked = jax.tree.map(lambda x: np.broadcast_to(x, (n, *np.shape(x))), state)
        return jax.device_put(stacked, self.stacked)

    def local_state(self, state):
        """Replica 0 as arrays on the first device (one device-side copy, no host copy)."""
        first = jax.tree.map(lambda x: x.addressable_data(0), state)
        return _drop_leading_axis(first)

    def for_checkpoint(self, state):
        return self.local_state(state)  # the layout-free form, whatever the device count

    def unreplicate(self, state):
        """The host copy of a replicated state (replica 0; all replicas are equal)."""
        return jax.device_get(jax.tree.map(lambda x: x.addressable_data(0)[0], state))

    def shard(self, batch):
        n = self.num_devices
        per_device = jax.tree.map(lambda x: np.reshape(x, (n, x.shape[0] // n, *x.shape[1:])),
                                  batch)
        return jax.device_put(per_device, self.stacked)

    def compile(self, step_fn):
        """step_fn(state, batch) -> (state, metrics); metrics keep their device axis (read
        them with `metrics_to_host`), so nothing is sliced or fetched per step."""
        return jax.pmap(step_fn, axis_name=AXIS, devices=self.devices, donate_argnums=(0,))

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
        self.devices = list(devices or jax.local_devices())
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
        # Each process passes its own part of the global batch (all of it on one host).
        return jax.tree.map(
            lambda x: jax.make_array_from_process_local_data(self.batch_sharding, x), batch)

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
    if batch_size % num_devices:
        raise UserError(f"batch_size {batch_size} is not divisible by the {num_devices} "
                        f"devices; choose a multiple of {num_devices}")
