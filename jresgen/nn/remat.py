"""Rematerialisation of residual blocks (`model.remat`): a block's activations are recomputed in
the backward pass instead of being kept from the forward pass, trading compute for memory.

The policy says what a block may still keep (jax.checkpoint_policies): "nothing_saveable"
recomputes everything (least memory), "dots_saveable" keeps convolution and matmul outputs and
recomputes only the cheap elementwise work between them (norms, activations), and
"dots_with_no_batch_dims_saveable" keeps only the batch-free products (on these nets: nothing
that scales with the batch). "none" turns rematerialisation off. Parameter names and shapes do
not change, so checkpoints are the same with and without it.
"""
import math

import flax.linen as nn
import jax

REMAT_POLICIES = ("none", "nothing_saveable", "dots_saveable", "dots_with_no_batch_dims_saveable",
                  "everything_saveable")


def rematerialized(block: type[nn.Module], policy: str = "none") -> type[nn.Module]:
    """`block` itself for "none", else its `nn.remat` version; `train` (the block's second call
    argument, a Python bool) stays static."""
    if policy not in REMAT_POLICIES:
        raise ValueError(f"model.remat must be one of {', '.join(REMAT_POLICIES)}, got {policy!r}")
    if policy == "none":
        return block
    # static_argnums counts `self` as argument 0: (self, x, train, ...)
    return nn.remat(block, policy=getattr(jax.checkpoint_policies, policy), static_argnums=(2,))


def residual_bytes(fun, params) -> int:
    """Bytes JAX keeps from `fun`'s forward pass for its backward pass w.r.t. `params` (the
    leaves of the VJP closure), traced abstractly: nothing runs. What remat cuts, before XLA."""
    vjp = jax.eval_shape(lambda p: jax.vjp(fun, p)[1], params)
    return sum(math.prod(a.shape) * a.dtype.itemsize for a in jax.tree.leaves(vjp))
