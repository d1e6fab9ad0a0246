"""`jresgen separate IN --out-dir DIR [--workdir NETDIR] [--strength L]`: texture/structure
separation of an image file into DIR/structure.png and DIR/texture.png.

The texture is signed; texture.png stores it offset by 128 levels, so per channel, in integers,
    input = structure.png + texture.png - 128
exactly for 8-bit inputs (jresgen/data/separation_png.py says when it saturates).
"""
import argparse
import math
from pathlib import Path

from jresgen.errors import UserError

DEFAULT_STRENGTH = 0.15
DEFAULT_ITERATIONS = 200

EPILOG = ("texture.png holds the signed texture offset by 128 levels: per channel, "
          "input = structure.png + texture.png - 128 (exact for 8-bit inputs). Grayscale inputs "
          "give grayscale PNGs; an alpha channel is dropped.")


def _strength(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"strength must be a number, got {text!r}") from None
    if not (math.isfinite(value) and value >= 0):
        raise argparse.ArgumentTypeError(f"strength must be a finite number >= 0, got {text}")
    return value


def add_parser(verbs) -> None:
    p = verbs.add_parser("separate", help="split an image into structure.png and texture.png",
                         epilog=EPILOG)
    p.add_argument("input", metavar="IN", help="image file (RGB, grayscale or RGBA)")
    p.add_argument("--out-dir", required=True, help="where structure.png and texture.png go "
                                                    "(created if missing)")
    p.add_argument("--workdir", help="a trained separation net (configs/separation_net.py); "
                                     "default: the classical ROF solver")
    p.add_argument("--strength", type=_strength,
                   help=f"ROF lambda in [0, 1] intensity units: larger moves more into the "
                        f"texture (default {DEFAULT_STRENGTH}; a net knows its own)")
    p.add_argument("--iterations", type=int, default=DEFAULT_ITERATIONS,
                   help=f"solver iterations (default {DEFAULT_ITERATIONS})")


def run(args) -> int:
    import numpy as np

    from jresgen.cli import _family_of
    from jresgen.data import separation_png
    from jresgen.data.image_io import read_image, write_image
    from jresgen.models.rof import rof_structure

    out_dir = Path(args.out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise UserError(f"--out-dir {out_dir} exists and is not a directory")
    if args.iterations <= 0:
        raise UserError(f"--iterations must be positive, got {args.iterations}")
    rgb, _, grayscale = read_image(args.input)
    if min(rgb.shape[:2]) < 2:
        raise UserError(f"{args.input} is {rgb.shape[1]}x{rgb.shape[0]}; separation needs at "
                        f"least 2x2 pixels")
    if args.workdir:
        family = _family_of(args.workdir)
        if family is not None and family != "separation":
            raise UserError(f"{args.workdir} holds a {family!r} model; separate --workdir needs "
                            f"a separation one (configs/separation_net.py)")
        from jresgen.train.loop import load_workdir
        config, task, state, _ = load_workdir(args.workdir)
        trained = config.separation.strength
        if args.strength is not None and not math.isclose(args.strength, trained):
            raise UserError(f"the net in {args.workdir} was trained for strength {trained}; "
                            f"drop --strength or leave out --workdir to run the solver")
        structure, how = task.network_structure(config, state, rgb), f"net {args.workdir}"
    else:
        strength = DEFAULT_STRENGTH if args.strength is None else args.strength
        structure = np.clip(np.asarray(rof_structure(rgb, strength, args.iterations)), 0, 1)
        how = f"ROF solver, strength {strength}, {args.iterations} iterations"
    if grayscale:
        rgb, structure = rgb.mean(-1, keepdims=True), structure.mean(-1, keepdims=True)
    base, texture, clipped = separation_png.encode(rgb, structure)
    out_dir.mkdir(parents=True, exist_ok=True)
    write_image(out_dir / "structure.png", base)
    write_image(out_dir / "texture.png", texture)
    note = f"; {clipped} texture values saturated" if clipped else ""
    print(f"{args.input} {rgb.shape[1]}x{rgb.shape[0]} ({how}) -> {out_dir / 'structure.png'}, "
          f"{out_dir / 'texture.png'} (input = structure + texture - 128{note})")
    return 0
