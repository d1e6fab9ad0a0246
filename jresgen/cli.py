"""The `jresgen` command line: parses, loads the config, calls into jresgen.train.

    jresgen train   --config configs/sr_x2.py --workdir runs/sr [--config.KEY=VALUE ...]
    jresgen train   --config configs/sr_x2.py --workdir runs/sweep --sweep seed=0,1,2,3
    jresgen train   ... --coordinator HOST:PORT --num-processes N --process-id K   (each host)
    jresgen eval    --workdir runs/sr [--json] [--images HR_DIR]
    jresgen export  --workdir runs/sweep --variant 2 --out runs/sr_seed2
    jresgen upscale --workdir runs/sr IN.png OUT.png [--ensemble]   (or IN_DIR OUT_DIR)
    jresgen sample  --workdir runs/gan [--num 64] [--seed S] [--size HxW] [--class K] OUT.png|OUT.npz
    jresgen texture --exemplar brick --size 256x256 OUT.png [--steps N] [--seed S]

A user's mistake prints one line on stderr and exits with status 2; no traceback.
"""
import argparse
import json
import os
import sys
from pathlib import Path

from jresgen.errors import UserError


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse prints usage + error; we promise one line
        raise UserError(f"{message} (see '{self.prog} --help')")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="jresgen", description="Residual-network image generation in JAX.")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", parser_class=_Parser)
    verbs.required = True

    train = verbs.add_parser("train", help="train (or resume) a config in a work directory",
                             epilog="Override any config key with --config.KEY=VALUE.")
    train.add_argument("--config", help="configs/NAME.py[:variant]; default: the work "
                                        "directory's config.json, to resume")
    train.add_argument("--workdir", required=True, help="where checkpoints, metrics and "
                                                        "samples go; resumes if it has them")
    train.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                       help="train one variant per value of config key KEY, all in one "
                            "vmapped program; repeat for several keys (their product)")
    train.add_argument("--profile", metavar="START:STOP",
                       help="write a jax.profiler trace of the steps from START to STOP into "
                            "WORKDIR/tensorboard (TensorBoard's Profile tab, or Perfetto)")
    hosts = train.add_argument_group(
        "several hosts", "run the same command on every host, each with its own --process-id "
        "(all three flags or none; with none, SLURM's srun, Open MPI's mpirun and Cloud TPU "
        "pods are detected). WORKDIR must be a directory all hosts share.")
    hosts.add_argument("--coordinator", metavar="HOST:PORT",
                       help="address of process 0, where the others join")
    hosts.add_argument("--num-processes", type=int, metavar="N", help="number of processes")
    hosts.add_argument("--process-id", type=int, metavar="K", help="this process, 0..N-1")

    evaluate = verbs.add_parser("eval", help="quality figures of the latest checkpoint")
    evaluate.add_argument("--workdir", required=True)
    evaluate.add_argument("--json", action="store_true", help="one JSON object on stdout")
    evaluate.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    evaluate.add_argument("--images", metavar="HR_DIR",
                          help="SR: score a folder of HR images (Set5, B100, ...) under the "
                               "papers' bicubic protocol instead of the validation photos")

    export = verbs.add_parser("export", help="one variant of a sweep as a work directory of "
                                             "its own")
    export.add_argument("--workdir", required=True, help="the sweep's work directory")
    export.add_argument("--variant", type=int, required=True, metavar="K",
                        help="the variant's index (WORKDIR/variants.json lists them)")
    export.add_argument("--out", required=True, metavar="NEWDIR",
                        help="the new work directory (must not exist or be empty)")
    export.add_argument("--step", type=int, help="checkpoint step (default: the latest)")

    sample = verbs.add_parser("sample", help="draw samples from a generative model")
    sample.add_argument("--workdir", required=True)
    sample.add_argument("--num", type=int, help="number of samples (default 64; 1 with --size)")
    sample.add_argument("--seed", type=int, default=0)
    sample.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    sample.add_argument("--size", type=_size, metavar="HxW",
                        help="output size, for models that generate any size (texture nets)")
    sample.add_argument("--class", dest="label", type=int, metavar="K",
                        help="class to draw, for class-conditional models")
    sample.add_argument("output", metavar="OUT",
                        help="grid image (format from the suffix; the image itself when N is "
                             "1), or .npz for the raw uint8 samples [N, H, W, C] (+ labels)")

    upscale = verbs.add_parser("upscale", help="super-resolve an image file (SR work dirs)")
    upscale.add_argument("--workdir", required=True)
    upscale.add_argument("input", metavar="IN", help="image file (RGB, grayscale or RGBA), or "
                                                     "a folder of them")
    upscale.add_argument("output", metavar="OUT", help="output image, format from the suffix; "
                                                       "for a folder IN, the output folder "
                                                       "(same file names)")
    upscale.add_argument("--ensemble", action="store_true",
                         help="x8 self-ensemble: average over flips and transposes (8x slower)")
    upscale.add_argument("--step", type=int, help="checkpoint step (default: the latest)")
    upscale.add_argument("--tile", type=int, help="LR tile size (default: the config's)")
    upscale.add_argument("--overlap", type=int, help="LR tile overlap (default: the config's)")

    from jresgen import cli_separate, cli_texture
    cli_separate.add_parser(verbs)
    from jresgen import cli_stylize
    cli_stylize.add_parser(verbs)
    cli_texture.add_parser(verbs)
    return parser


def main(argv=None) -> int:
    if argv is None:  # the command itself, not a caller in this process (tests, scripts)
        from jresgen._malloc_defaults import restart_with_huge_pages
        restart_with_huge_pages()  # returns when it does not restart
    argv = sys.argv[1:] if argv is None else argv
    try:
        args, extra = _parser().parse_known_args(argv)
        overrides = [a[len("--config."):] for a in extra if a.startswith("--config.")]
        unknown = [a for a in extra if not a.startswith("--config.")]
        if unknown or (overrides and args.verb != "train"):
            raise UserError(f"unrecognized arguments: {' '.join(unknown or extra)}")
        return {"train": _train, "eval": _eval, "export": _export, "upscale": _upscale,
                "sample": _sample, "stylize": _stylize, "separate": _separate,
                "texture": _texture}[args.verb](args, overrides)
    except UserError as e:
        print(f"jresgen: error: {e}", file=sys.stderr)
        return 2
    except FloatingPointError as e:
        print(f"jresgen: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt as e:
        print(f"jresgen: {e or 'interrupted'}", file=sys.stderr)
        return 130
    except BrokenPipeError:  # the reader of stdout stopped early (`eval --json | head`)
        # Python would report the failed flush at exit: point stdout at /dev/null first.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141  # what a shell reports for a process ended by SIGPIPE


def _output_path(path: str) -> Path:
    """Checks an output image path before any work is done."""
    from PIL import Image

    out = Path(path)
    if out.suffix.lower() not in Image.registered_extensions():
        raise UserError(f"unknown image format for {out}: use .png, .jpg, .bmp, .tif, ...")
    if not out.parent.is_dir():
        raise UserError(f"output directory does not exist: {out.parent}")
    return out


def _family_of(workdir) -> str | None:
    """The task a work directory trains, read from its config.json before anything heavy
    (None when there is none: load_workdir then says what is missing)."""
    saved = Path(workdir) / "config.json"
    return json.loads(saved.read_text()).get("task") if saved.exists() else None


def _train(args, overrides) -> int:
    from jresgen.train.distributed import initialize
    initialize(args.coordinator, args.num_processes, args.process_id)  # before any computation
    from jresgen.config import apply_overrides, config_from_json, load_config, validate
    from jresgen.train.loop import train_and_evaluate
    from jresgen.train.profiling import parse_window
    from jresgen.train.sweep import add_sweep_args, validate_sweep

    profile = parse_window(args.profile) if args.profile else None
    if args.config:
        config = load_config(args.config, overrides)
    else:
        saved = Path(args.workdir) / "config.json"
        if not saved.exists():
            raise UserError(f"--config is required: {args.workdir} has no config.json to resume")
        config = config_from_json(saved.read_text())
        apply_overrides(config, overrides)
        validate(config)
    add_sweep_args(config, args.sweep)
    validate_sweep(config)
    summary = train_and_evaluate(config, args.workdir, profile=profile)
    if summary is not None:
        from jresgen.tasks import get_task
        _print_reports(get_task(config.task), summary)
    return 0


def _print_reports(task, summary: dict) -> None:
    """The task's report of a run's summary, or of each variant of a sweep's."""
    from jresgen.train.sweep import describe

    if "variants" not in summary:
        print(task.format_report(summary))
        return
    for k, variant in enumerate(summary["variants"]):
        print(f"variant {k} ({describe(variant['sweep'])})")
        print(task.format_report({key: v for key, v in variant.items() if key != "sweep"}))


def _eval(args, overrides) -> int:
    if args.images:  # a folder of HR images (jresgen/cli_eval_images.py)
        from jresgen import cli_eval_images
        return cli_eval_images.run(args)
    from jresgen.train.loop import evaluate_workdir

    summary = evaluate_workdir(args.workdir, step=args.step)
    if args.json:
        print(json.dumps(summary))
    else:
        from jresgen.tasks import get_task
        print(f"{args.workdir} at step {summary['step']}")
        _print_reports(get_task(_family_of(args.workdir)), summary)
    return 0


def _export(args, overrides) -> int:
    from jresgen.train.export import export_variant
    print(export_variant(args.workdir, args.variant, args.out, step=args.step))
    return 0


def _upscale(args, overrides) -> int:
    import numpy as np
    from PIL import Image

    from jresgen.data.image_io import read_image, write_image
    from jresgen.data.resize import bicubic_resize, to_uint8
    from jresgen.train.loop import load_workdir

    from jresgen.cli_files import folder_jobs, run_jobs

    folder = Path(args.input) if Path(args.input).is_dir() else None
    if folder is not None:
        jobs = folder_jobs(folder, Path(args.output), "upscale")
    else:
        jobs = [(Path(args.input), _output_path(args.output))]
        read_image(args.input)  # a bad input is reported before the model loads
    family = _family_of(args.workdir)  # None: load_workdir says what is missing
    if family is not None and family != "sr":
        raise UserError(f"{args.workdir} holds a {family!r} model; upscale needs an SR one")
    config, task, state, _ = load_workdir(args.workdir, step=args.step, with_eval_data=False)
    tiling = config.tiling.to_dict()
    tiling.update({k: v for k, v in (("tile", args.tile), ("overlap", args.overlap)) if v})
    if tiling["tile"] <= 2 * tiling["overlap"]:
        raise UserError(f"--tile {tiling['tile']} must exceed twice the overlap "
                        f"{tiling['overlap']}")
    upscale = task.upscaler(config, state, args.ensemble, **tiling)

    def upscale_file(src, out):
        if out.suffix.lower() not in Image.registered_extensions():
            raise UserError(f"unknown image format for {out}")
        rgb, alpha, grayscale = read_image(src)
        sr = np.clip(upscale(rgb), 0.0, 1.0)
        if grayscale:
            sr = sr.mean(axis=-1, keepdims=True)
        if alpha is not None:
            up = bicubic_resize(alpha[..., None], sr.shape[0], sr.shape[1])
            sr = np.concatenate([sr, np.clip(up, 0.0, 1.0)], axis=-1)
        write_image(out, to_uint8(sr))
        return f"{src} {rgb.shape[1]}x{rgb.shape[0]} -> {out} {sr.shape[1]}x{sr.shape[0]}"
    run_jobs(jobs, upscale_file, folder=folder)
    return 0


def _separate(args, overrides) -> int:
    from jresgen import cli_separate
    return cli_separate.run(args)


def _texture(args, overrides) -> int:
    from jresgen import cli_texture
    return cli_texture.run(args)


def _stylize(args, overrides) -> int:
    from jresgen import cli_stylize
    return cli_stylize.run(args)


def _size(text: str) -> tuple[int, int]:
    """'256x256' -> (256, 256) as (height, width); argparse turns a ValueError into one line."""
    try:
        h, w = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"size must look like 256x256, got {text!r}") from None
    if not (0 < h <= 16384 and 0 < w <= 16384):
        raise argparse.ArgumentTypeError(f"size must be between 1x1 and 16384x16384, got {text}")
    return h, w


def _sample(args, overrides) -> int:
    import math

    import numpy as np

    from jresgen.data.image_io import image_grid, write_image, write_npz
    from jresgen.tasks import get_task
    from jresgen.train.loop import load_workdir

    npz = Path(args.output).suffix.lower() == ".npz"
    out = Path(args.output) if npz else _output_path(args.output)
    if not out.parent.is_dir():
        raise UserError(f"output directory does not exist: {out.parent}")
    num = args.num if args.num is not None else (1 if args.size else 64)
    if num <= 0:
        raise UserError(f"--num must be positive, got {num}")
    family = _family_of(args.workdir)
    if family is not None and not hasattr(get_task(family), "sample_images"):
        raise UserError(f"{args.workdir} holds a {family!r} model, which cannot sample; "
                        f"sample needs a generative one (e.g. gan, vae)")
    config, task, state, _ = load_workdir(args.workdir, step=args.step, with_eval_data=False)
    images, labels = task.sample_images(config, state, num, args.seed, size=args.size,
                                        label=args.label)
    images = np.asarray(images)
    if npz:
        arrays = {"samples": np.round(np.clip(images, 0, 1) * 255).astype(np.uint8)}
        if labels is not None:
            arrays["labels"] = np.asarray(labels, np.int32)
        write_npz(out, arrays)
    elif num == 1:
        write_image(out, np.round(np.clip(images[0], 0, 1) * 255).astype(np.uint8))
    else:
        zoom = config.get("sampling", {}).get("zoom", 1)
        write_image(out, image_grid(images, math.ceil(math.sqrt(num)), zoom))
    shape = "x".join(str(d) for d in images.shape[1:3])
    print(f"{num} samples ({shape}) from {args.workdir} at step {int(state.step)} -> {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
