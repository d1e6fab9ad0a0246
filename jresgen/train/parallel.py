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
"""
import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec as P

from jresgen.errors import UserError

AXIS = "data"


class PmapStrategy:
    axis_name = AXIS

    def __init__(self, devices=None):
        self.devices = list(devices or jax.local_devices())
        # pmap's inputs carry a leading device axis; placing them with this sharding up front
        # spares pmap a re-layout every step.
        self.stacked = NamedSharding(Mesh(np.array(self.devices), (AXIS,)), P(AXIS))

    @property
    def num_devices(self) -> int:
        return len(self.devices)

    def replicate(self, state):
        n = self.num_devices
        stacked = jax.tree.map(lambda x: np.broadcast_to(x, (n, *np.shape(x))), state)
        return jax.device_put(stacked, self.stacked)

    def unreplicate(self, state):
        """The host copy of a replicated state (replica 0; all replicas are equal)."""
        return jax.device_get(jax.tree.map(lambda x: x[0], state))

    def shard(self, batch):
        n = self.num_devices
        per_device = jax.tree.map(lambda x: np.reshape(x, (n, x.shape[0] // n, *x.shape[1:])),
                                  batch)
        return jax.device_put(per_device, self.stacked)

    def compile(self, step_fn):
        """step_fn(state, batch) -> (state, metrics); metrics come back for replica 0."""
        pstep = jax.pmap(step_fn, axis_name=AXIS, devices=self.devices, donate_argnums=(0,))

        def run(state, batch):
            state, metrics = pstep(state, batch)
            return state, jax.tree.map(lambda m: m[0], metrics)
        return run


class JitStrategy:
    axis_name = None

    def __init__(self, devices=None):
        self.devices = list(devices or jax.local_devices())
        self.mesh = Mesh(np.array(self.devices), (AXIS,))
        self.replicated = NamedSharding(self.mesh, P())
        self.batch_sharding = NamedSharding(self.mesh, P(AXIS))

    @property
    def num_devices(self) -> int:
        return len(self.devices)

    def replicate(self, state):
        return jax.device_put(state, self.replicated)

    def unreplicate(self, state):
        return jax.device_get(state)

    def shard(self, batch):
        # Each process passes its own part of the global batch (all of it on one host).
        return jax.tree.map(
            lambda x: jax.make_array_from_process_local_data(self.batch_sharding, x), batch)

    def compile(self, step_fn):
        return jax.jit(step_fn, in_shardings=(self.replicated, self.batch_sharding),
                       out_shardings=(self.replicated, self.replicated), donate_argnums=(0,))


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
