"""A convolution `conv(x, kernel)` whose input or weight gradient is computed another way than
autodiff's (strided_conv.py, conv3x3.py): one custom VJP for both.

The gradients default to the transposes of `conv` itself: `jax.linear_transpose`, not vjp, so no
primal convolution is traced in the backward pass (the benchmark's FLOP counter reads the
jaxpr). With symbolic zeros the arguments arrive as CustomVJPPrimal(value, perturbed), so only
the gradients asked for are computed, as autodiff of a plain convolution does (a
discriminator's input gradient is not asked for on real images, a frozen feature extractor's
weight gradient never).
"""
import jax


def input_transpose(conv, x, kernel, g):
    """dL/dx of the linear map x -> conv(x, kernel), for the output gradient g."""
    return jax.linear_transpose(lambda v: conv(v, kernel), x)(g)[0]


def kernel_transpose(conv, x, kernel, g):
    """dL/dkernel of the linear map kernel -> conv(x, kernel), for the output gradient g."""
    return jax.linear_transpose(lambda k: conv(x, k), kernel)(g)[0]


def with_gradients(conv, input_grad=None, kernel_grad=None):
    """`conv` as a custom VJP whose gradients are `input_grad(x, kernel, g)` and
    `kernel_grad(x, kernel, g)` (each defaulting to the transpose of `conv`)."""
    input_grad = input_grad or (lambda x, kernel, g: input_transpose(conv, x, kernel, g))
    kernel_grad = kernel_grad or (lambda x, kernel, g: kernel_transpose(conv, x, kernel, g))

    @jax.custom_vjp
    def convolve(x, kernel):
        return conv(x, kernel)

    def fwd(x, kernel):
        y = conv(x.value, kernel.value)
        return y, (x.value, kernel.value, x.perturbed, kernel.perturbed)

    def bwd(res, g):
        x, kernel, need_dx, need_dk = res
        if isinstance(g, jax.custom_derivatives.SymbolicZero):  # the output does not matter
            return None, None
        return (input_grad(x, kernel, g) if need_dx else None,
                kernel_grad(x, kernel, g) if need_dk else None)

    convolve.defvjp(fwd, bwd, symbolic_zeros=True)
    return convolve
