"""`jresgen texture --exemplar PATH_OR_NAME --size HxW OUT.png [--steps N] [--seed S]`:
optimisation-based texture synthesis (jresgen/texture/synthesis.py) from an image file or a
built-in exemplar (brick, grass, gravel, or a scikit-image photo)."""
from jresgen.errors import UserError
from jresgen.texture.options import SynthesisOptions

DEFAULTS = SynthesisOptions()


def add_parser(verbs) -> None:
    from jresgen.cli import _size

    p = verbs.add_parser(
        "texture", help="synthesise a texture like an exemplar (Gatys-style optimisation)",
        epilog="A grayscale exemplar gives a grayscale texture; an alpha channel is dropped. "
               "Features: fixed random multi-scale filters (no download needed).")
    p.add_argument("--exemplar", required=True, metavar="PATH_OR_NAME",
                   help="image file (PNG/JPEG..., grayscale, RGB or RGBA, any size) or a "
                        "built-in name: brick, grass, gravel, or a scikit-image photo")
    p.add_argument("--size", type=_size, default=(256, 256), metavar="HxW",
                   help="output size, height x width (default 256x256)")
    p.add_argument("--steps", type=int, default=DEFAULTS.steps,
                   help=f"optimiser steps over all pyramid levels (default {DEFAULTS.steps})")
    p.add_argument("--levels", type=int, default=DEFAULTS.levels,
                   help=f"coarse-to-fine pyramid levels (default {DEFAULTS.levels})")
    p.add_argument("--seed", type=int, default=0, help="seed of the start noise")
    p.add_argument("output", metavar="OUT", help="output image; format from the suffix")


def run(args) -> int:
    import dataclasses

    from jresgen.cli import _output_path
    from jresgen.data.exemplars import load_exemplar
    from jresgen.data.image_io import write_image
    from jresgen.data.resize import to_uint8
    from jresgen.texture.synthesis import check_size, distances, synthesize
    from jresgen.train.progress import Progress

    out = _output_path(args.output)
    check_size(args.size)
    if args.steps <= 0 or args.levels <= 0:
        raise UserError(f"--steps and --levels must be positive, got {args.steps}, "
                        f"{args.levels}")
    exemplar, grayscale = load_exemplar(args.exemplar)
    options = dataclasses.replace(DEFAULTS, steps=args.steps, levels=args.levels)
    progress = Progress(0, args.steps)
    try:
        texture, report = synthesize(exemplar, args.size, seed=args.seed, options=options,
                                     grayscale=grayscale, progress=progress)
    finally:
        progress.close()
    write_image(out, to_uint8(texture[..., 0] if grayscale else texture))
    d = distances(exemplar, texture, seed=args.seed)
    h, w = args.size
    print(f"{args.exemplar} -> {out} {w}x{h} in {report['seconds']:.0f}s; Gram distance to the "
          f"exemplar {d['gram_distance']:.4f} (floor, two halves of the exemplar: "
          f"{d['gram_distance_floor']:.4f}; start, noise: {d['gram_distance_noise']:.4f})")
    return 0
