"""The weight gradient of a 3x3 stride-1 'SAME' convolution: XLA's own against jresgen's
Winograd F(3x3, 4x4) (jresgen/nn/winograd.py), per shape; the figures behind the rule in
jresgen/nn/conv3x3.py (`winograd_applies`).

    python -m benchmarks.weight_grad [--shape 4x24x64 16x48x64 4x48x3x64 ...] [--steps 30]

A shape is BATCHxSIDExIN[xOUT] (OUT defaults to IN). Prints the median ms of each, jitted,
on this process's threads, and whether conv3x3 would use Winograd there.
"""
import argparse

from benchmarks.timing import time_calls

DEFAULT_SHAPES = ("4x24x64", "1x24x64", "2x24x64", "4x12x64", "4x48x64", "4x64x64",
                  "4x16x256", "4x32x256", "8x24x64", "16x24x64", "8x32x64", "16x32x64",
                  "16x48x64", "16x32x32", "128x32x16", "4x48x3x64")


def _shape(text: str) -> tuple[int, int, int, int]:
    """BATCHxSIDExIN[xOUT] -> (batch, side, in, out)."""
    try:
        values = [int(v) for v in text.split("x")]
    except ValueError:
        values = []
    if len(values) not in (3, 4) or min(values) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not BATCHxSIDExIN[xOUT] of positive "
                                         f"integers")
    n, side, c_in, *rest = values
    return n, side, c_in, rest[0] if rest else c_in


def _positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a positive integer")
    return int(text)


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.weight_grad")
    p.add_argument("--shape", nargs="+", type=_shape,
                   default=[_shape(s) for s in DEFAULT_SHAPES])
    p.add_argument("--steps", type=_positive, default=30)
    args = p.parse_args(argv)

    import jresgen  # noqa: F401 - applies jresgen's XLA CPU defaults before JAX starts
    import jax
    from jresgen.nn.conv3x3 import _plain_weight_grad, winograd_applies
    from jresgen.nn.winograd import weight_grad_3x3

    print("| shape | XLA ms | Winograd ms | XLA / Winograd | conv3x3 uses Winograd |")
    print("| --- | --- | --- | --- | --- |")
    for n, side, c_in, c_out in args.shape:
        shape = f"{n}x{side}x{c_in}" + (f"x{c_out}" if c_out != c_in else "")
        kx, kg = jax.random.split(jax.random.PRNGKey(0))
        x = jax.random.normal(kx, (n, side, side, c_in))
        g = jax.random.normal(kg, (n, side, side, c_out))
        kernel = jax.numpy.zeros((3, 3, c_in, c_out))
        xla_grad = jax.jit(lambda x, g: _plain_weight_grad(x, kernel, g))
        xla, winograd = (1e3 * time_calls(lambda: f(x, g), jax.block_until_ready, warmup=1,
                                          steps=args.steps)["median_s"]
                         for f in (xla_grad, jax.jit(weight_grad_3x3)))
        uses = winograd_applies(x.shape, g.shape, x.dtype)
        print(f"| {shape} | {xla:.3f} | {winograd:.3f} | {xla / winograd:.2f} | "
              f"{'yes' if uses else 'no'} |", flush=True)


if __name__ == "__main__":
    main()
