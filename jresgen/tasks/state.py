"""The train state every task's pure functions take and return.

It lives with the tasks (which create it) rather than in train/ so that the import flow stays
one-way: train/ consumes states, tasks/ never import train/.
"""
from typing import Any

import jax
import optax
from flax import struct


class TrainState(struct.PyTreeNode):
    """step, params, non-trainable model state (e.g. BatchNorm statistics), optimizer state and
    an RNG key. `tx` is static: it is rebuilt from the config, never checkpointed."""
    step: jax.Array
    params: Any
    model_state: Any
    opt_state: Any
    rng: jax.Array
    tx: optax.GradientTransformation = struct.field(pytree_node=False)

    @classmethod
    def create(cls, *, params, tx, rng, model_state=None):
        return cls(step=jax.numpy.zeros((), jax.numpy.int32), params=params,
                   model_state=model_state or {}, opt_state=tx.init(params), rng=rng, tx=tx)

    def apply_gradients(self, grads, **changes):
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params)
        return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                            opt_state=opt_state, **changes)


def step_rng(state: TrainState) -> jax.Array:
    """This step's key: the state's key folded with the step. Tasks fold further (e.g. with the
    sample index of the global batch) so randomness does not depend on the device count."""
    return jax.random.fold_in(state.rng, state.step)


def mean_over_devices(tree, axis_name: str | None):
    """Averages over the pmap axis; a no-op under jit, where arrays are already global."""
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)
