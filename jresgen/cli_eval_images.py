"""`jresgen eval --workdir DIR --images HR_DIR [--json]`: an SR model on a folder of HR images
(Set5, Set14, B100, Urban100, ...) under the papers' protocol, the one `eval` uses for the
validation photos (jresgen/data/sr.py `make_pairs`): each image cropped to a multiple of the
scale, downscaled by jresgen's bicubic and rounded to uint8; Y-PSNR/SSIM with `scale` border
pixels shaved, against bicubic upsampling of the same LR. The degradation panel is left out: a
benchmark folder is scored under its own protocol only.
"""
import json

from jresgen.errors import UserError

# The smallest mod-cropped HR side that SSIM's 11x11 window still fits after the border shave.
_WINDOW = 11


def run(args) -> int:
    from jresgen.cli import _family_of
    from jresgen.data.image_folder import read_folder
    from jresgen.data.sr import make_pairs
    from jresgen.train.loop import load_workdir

    family = _family_of(args.workdir)
    if family is not None and family != "sr":
        raise UserError(f"{args.workdir} holds a {family!r} model; eval --images needs an SR "
                        f"one")
    config, task, state, _ = load_workdir(args.workdir, step=args.step, with_eval_data=False)
    images = read_folder(args.images, "--images")
    scale = config.model.scale
    pairs = make_pairs(images, scale)
    for pair in pairs:
        if min(pair.hr.shape[:2]) < 2 * scale + _WINDOW:
            raise UserError(f"image {pair.name} ({pair.hr.shape[1]}x{pair.hr.shape[0]}) is too "
                            f"small to score at x{scale}: sides of at least "
                            f"{2 * scale + _WINDOW} pixels")
    summary, _ = task.evaluate(config, state, pairs, with_panel=False)
    if args.json:
        print(json.dumps({"step": int(state.step), **summary}))
    else:
        print(f"{args.workdir} at step {int(state.step)} on {args.images} ({len(pairs)} "
              f"images, x{scale})")
        print(task.format_report(summary))
    return 0
