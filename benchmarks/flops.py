"""One analytic FLOP count for both sides: the multiply-adds of every convolution and matrix
product in jresgen's train step, read from the shapes in its jaxpr (2 FLOPs per multiply-add).

XLA's cost analysis and PyTorch's FlopCounterMode are recorded too, but they disagree by a few
percent (XLA counts elementwise work and padding differently), so utilisation is computed from
this count on both sides. It counts the model's FLOPs, as PyTorch counts them: where jresgen
computes a layer with structural zeros (DCGAN's transposed convs), only the non-zero taps
count; where it computes fewer (a down block's conv-then-pool), the full-resolution conv
counts. Only jaxpr shapes are used: nothing is compiled or run.
"""
import math

import jax
from jax.extend.core import ClosedJaxpr, Jaxpr

from jresgen.nn.resample_conv import POOLED_MODEL_FRACTION, conv3x3_avg_pool
from jresgen.nn.transposed_conv import NONZERO_TAP_FRACTION, conv_transpose_4x4_s2


def _sub_jaxprs(eqn):
    for value in eqn.params.values():
        for item in value if isinstance(value, (list, tuple)) else (value,):
            if isinstance(item, ClosedJaxpr):
                yield item.jaxpr
            elif isinstance(item, Jaxpr):
                yield item


def _eqn_macs(eqn) -> int:
    name = eqn.primitive.name
    if name == "conv_general_dilated":
        out = eqn.outvars[0].aval.shape
        lhs, rhs = eqn.invars[0].aval.shape, eqn.invars[1].aval.shape
        dims = eqn.params["dimension_numbers"]
        # Each output element reads every kernel entry of its output feature (one group).
        macs = math.prod(out) * (math.prod(rhs) // rhs[dims.rhs_spec[0]])
        # The input gradient of a strided conv is a conv over the zero-dilated gradient; only
        # one tap in prod(lhs_dilation) meets a non-zero, which is all the algorithm needs.
        macs //= math.prod(eqn.params.get("lhs_dilation") or (1,))
        if eqn.params.get("feature_group_count", 1) == 1 == eqn.params.get("batch_group_count",
                                                                          1):
            # Every multiply-add also pairs one input element with one kernel entry. Where the
            # zero padding outgrows the input (a transposed conv from 1x1 to 4x4, its weight
            # gradient, the input gradient of a 'VALID' conv down to 1x1) fewer taps meet
            # input elements than output elements: count those, as PyTorch counts its
            # transposed convolutions. Elsewhere this bound is the larger one.
            macs = min(macs, math.prod(lhs) // lhs[dims.lhs_spec[1]] * math.prod(rhs))
        return macs
    if name == "dot_general":
        (lhs_contract, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval.shape
        return math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in lhs_contract)
    return 0


# Calls that execute another number of multiply-adds than the model has: (model, executed) per
# call name. DCGAN's transposed convs run as 3x3 convs whose kernels are partly structural
# zeros; the residual down blocks' conv-then-pool runs as one stride-2 conv, pooled pixels only.
_MODEL_FRACTION = {conv_transpose_4x4_s2.__name__: NONZERO_TAP_FRACTION,
                   conv3x3_avg_pool.__name__: POOLED_MODEL_FRACTION}


def _count(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        total += _eqn_macs(eqn)
        # a scan's body runs `length` times (the GAN step's n_dis discriminator updates);
        # no while loops occur in the benchmarked steps
        trips = eqn.params["length"] if eqn.primitive.name == "scan" else 1
        model, executed = _MODEL_FRACTION.get(eqn.params.get("name"), (1, 1))
        counts = [_count(sub) for sub in _sub_jaxprs(eqn)]
        if eqn.primitive.name == "cond":
            # one branch runs; from lax.platform_dependent (conv3x3.py's Winograd weight
            # gradient on the CPU, XLA's elsewhere) the costliest is the model's direct count
            counts = [max(counts, default=0)]
        total += trips * sum(counts) * model // executed
    return total


def analytic_flops(fn, *args) -> int:
    """2 x multiply-adds of the convolutions and matmuls `fn(*args)` traces to."""
    return 2 * _count(jax.make_jaxpr(fn)(*args).jaxpr)


def xla_flops(compiled) -> float | None:
    """XLA's own count from a compiled executable, or None where the backend gives none."""
    analysis = compiled.cost_analysis()
    if isinstance(analysis, (list, tuple)):  # older JAX: one dict per computation
        analysis = analysis[0] if analysis else None
    return float(analysis["flops"]) if analysis and "flops" in analysis else None
