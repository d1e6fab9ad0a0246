"""`jresgen stylize --workdir DIR IN OUT`: a trained style-transfer net applied to an image file
of any size, or to every image in a folder (IN a directory -> OUT a directory, same file names).

Grayscale inputs are written back as grayscale (the stylised image's channel mean), an alpha
channel is kept as it is, as `upscale` does. In a folder, files that cannot be read as images
(or are too small) are skipped and named in one line on stderr.
"""
import sys
from pathlib import Path

from jresgen.errors import UserError


def add_parser(verbs) -> None:
    p = verbs.add_parser("stylize", help="apply a style-transfer net to an image or a folder")
    p.add_argument("--workdir", required=True, help="a trained style net "
                                                    "(configs/style_transfer.py)")
    p.add_argument("input", metavar="IN", help="image file (RGB, grayscale or RGBA) or folder")
    p.add_argument("output", metavar="OUT", help="output image (format from the suffix), or a "
                                                 "folder when IN is one (created if missing)")


def _stylize_file(config, task, state, src: Path, dst: Path) -> str:
    import numpy as np

    from jresgen.data.image_io import read_image, write_image
    from jresgen.data.resize import to_uint8

    rgb, alpha, grayscale = read_image(src)
    out = task.stylize(config, state, rgb)
    if grayscale:
        out = out.mean(axis=-1, keepdims=True)
    if alpha is not None:
        out = np.concatenate([out, alpha[..., None]], axis=-1)
    write_image(dst, to_uint8(out))
    return f"{src} {rgb.shape[1]}x{rgb.shape[0]} -> {dst}"


def run(args) -> int:
    from jresgen.cli import _family_of, _output_path
    from jresgen.train.loop import load_workdir

    src, dst = Path(args.input), Path(args.output)
    if not src.exists():
        raise UserError(f"input not found: {src}")
    if src.is_dir():
        if dst.exists() and not dst.is_dir():
            raise UserError(f"IN is a folder, so OUT must be one too: {dst} is a file")
        files = sorted(p for p in src.iterdir() if p.is_file())
        if not files:
            raise UserError(f"no files in {src}")
    else:
        _output_path(args.output)
    family = _family_of(args.workdir)
    if family is not None and family != "style_transfer":
        raise UserError(f"{args.workdir} holds a {family!r} model; stylize needs a "
                        f"style_transfer one (configs/style_transfer.py)")
    config, task, state, _ = load_workdir(args.workdir)
    if not src.is_dir():
        print(_stylize_file(config, task, state, src, dst))
        return 0
    dst.mkdir(parents=True, exist_ok=True)
    done, skipped = 0, []
    for f in files:
        try:
            _output_path(str(dst / f.name))
            print(_stylize_file(config, task, state, f, dst / f.name))
            done += 1
        except UserError:
            skipped.append(f.name)
    if skipped:
        print(f"jresgen: skipped {len(skipped)} file(s) that are not images this can read or "
              f"write (or are smaller than 8x8): {', '.join(skipped)}", file=sys.stderr)
    if not done:
        raise UserError(f"no image in {src} could be stylised")
    print(f"{done} image(s) from {src} -> {dst}")
    return 0
