"""`jresgen stylize --workdir DIR IN OUT`: a trained style-transfer net applied to an image file
of any size, or to every image in a folder (IN a directory -> OUT a directory, same file names).

Grayscale inputs are written back as grayscale (the stylised image's channel mean), an alpha
channel is kept as it is, as `upscale` does. In a folder, files that cannot be read as images
(or are too small) are skipped and named in one line on stderr.
"""
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
    from jresgen.cli_files import folder_jobs, run_jobs
    from jresgen.train.loop import load_workdir

    src, dst = Path(args.input), Path(args.output)
    if not src.exists():
        raise UserError(f"input not found: {src}")
    folder = src if src.is_dir() else None
    if folder is not None:
        jobs = folder_jobs(src, dst, "stylize")
    else:
        jobs = [(src, _output_path(args.output))]
    family = _family_of(args.workdir)
    if family is not None and family != "style_transfer":
        raise UserError(f"{args.workdir} holds a {family!r} model; stylize needs a "
                        f"style_transfer one (configs/style_transfer.py)")
    config, task, state, _ = load_workdir(args.workdir)

    if folder is not None:
        dst.mkdir(exist_ok=True)  # its parent was checked by folder_jobs

    def stylize_file(src, out):
        _output_path(str(out))  # a known image format
        return _stylize_file(config, task, state, src, out)
    done = run_jobs(jobs, stylize_file, folder=folder)
    if folder is not None:
        print(f"{done} image(s) from {src} -> {dst}")
    return 0
