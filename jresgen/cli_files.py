"""The files of the image-to-image verbs (`upscale`, `stylize`): one image, or every file of a
folder to the same name in another folder, where files that are not usable images are skipped
and named in one line on stderr."""
import sys
from pathlib import Path
from typing import Callable

from jresgen.errors import UserError


def folder_jobs(src: Path, dst: Path, verb: str) -> list[tuple[Path, Path]]:
    """(input, output) paths for a folder IN: every file in it, to the same name in `dst`."""
    files = sorted(p for p in src.iterdir() if p.is_file() and not p.name.startswith("."))
    if not files:
        raise UserError(f"input folder {src} holds no files to {verb}")
    if dst.exists() and not dst.is_dir():
        raise UserError(f"output {dst} must be a folder when the input is a folder")
    if dst.resolve() == src.resolve():
        raise UserError(f"output folder {dst} must differ from the input folder")
    if not dst.parent.is_dir():
        raise UserError(f"output directory does not exist: {dst.parent}")
    return [(p, dst / p.name) for p in files]


def run_jobs(jobs, process: Callable[[Path, Path], str], *, folder: Path | None) -> int:
    """`process(src, out)` for each job, printing the line it returns; the number done. For a
    folder, a file `process` rejects with a UserError (not an image, an unknown output format,
    too small) is skipped; one stderr line names the skipped files, and when every file was
    skipped that line is the error instead."""
    skipped = []
    for src, out in jobs:
        try:
            line = process(src, out)
        except UserError:
            if folder is None:
                raise
            skipped.append(src.name)
            continue
        print(line)
    if skipped:
        message = (f"skipped {len(skipped)} unreadable file(s) in {folder} (not images this can "
                   f"read or write, or too small): {', '.join(skipped)}")
        if len(skipped) == len(jobs):
            raise UserError(message)
        print(f"jresgen: {message}", file=sys.stderr)
    return len(jobs) - len(skipped)
