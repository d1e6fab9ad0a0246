"""One analytic FLOP count for both sides: the multiply-adds of every convolution and matrix
product in jresgen's train step, read from the shapes in its jaxpr (2 FLOPs per multiply-add).

XLA's cost analysis and PyTorch's FlopCounterMode are recorded too, but they disagree by a few
percent (XLA counts elementwise work and padding differently), so utilisation is computed from
this count on both sides. Only jaxpr shapes are used: nothing is compiled or run.
"""
import math

import jax
from jax.extend.core import ClosedJaxpr, Jaxpr


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
        rhs = eqn.invars[1].aval.shape
        rhs_out_dim = eqn.params["dimension_numbers"].rhs_spec[0]
        # Each output element reads every kernel entry of its output feature (one group).
        macs = math.prod(out) * (math.prod(rhs) // rhs[rhs_out_dim])
        # The input gradient of a strided conv is a conv over the zero-dilated gradient; only
        # one tap in prod(lhs_dilation) meets a non-zero, which is all the algorithm needs.
        return macs // math.prod(eqn.params.get("lhs_dilation") or (1,))
    if name == "dot_general":
        (lhs_contract, _), _ = eqn.params["dimension_numbers"]
        lhs = eqn.invars[0].aval.shape
        return math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[d] for d in lhs_contract)
    return 0


def _count(jaxpr) -> int:
    total = 0
    for eqn in jaxpr.eqns:
        total += _eqn_macs(eqn)
        for sub in _sub_jaxprs(eqn):
            total += _count(sub)  # scan/while bodies would need a trip count; none occur here
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
