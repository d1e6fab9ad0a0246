"""Wall time of a seed sweep in one program against the same runs one after another.

    python -m benchmarks.sweep_wall --config configs/sr_x2.py --seeds 8 [--config.KEY=VALUE ...] \
        --out benchmarks/results/cpu_sweep_wall_sr_x2.json

Runs, as a user would, `jresgen train --sweep seed=0,...,K-1` into one work directory and then
`jresgen train --config.seed=k` for each k into its own, timing each command end to end
(start-up, compilation, training, evaluation, checkpoints). Then checks that `jresgen eval
--json` on the sweep reports all K variants and that each equals the single run of its seed
(Y-PSNR of the mean), and writes one JSON with every figure.
"""
import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _jresgen(*args: str) -> str:
    result = subprocess.run([sys.executable, "-m", "jresgen.cli", *args], check=True,
                            capture_output=True, text=True)
    return result.stdout


def _timed_train(*args: str) -> float:
    start = time.perf_counter()
    _jresgen("train", *args)
    return time.perf_counter() - start


def _mean_psnr_y(summary: dict) -> float:
    return summary["mean"]["model"]["psnr_y"]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="configs/sr_x2.py")
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--out", help="write the figures as JSON here")
    parser.add_argument("--workdir", help="keep the runs here (default: a temporary directory)")
    # Any --config.KEY=VALUE is passed on to every run.
    args, overrides = parser.parse_known_args(argv)
    if any(not o.startswith("--config.") for o in overrides):
        parser.error(f"unrecognized arguments: {' '.join(overrides)}")
    args.overrides = overrides

    root = Path(args.workdir or tempfile.mkdtemp(prefix="sweep_wall_"))
    seeds = list(range(args.seeds))
    common = ["--config", args.config, *args.overrides]

    sweep_dir = root / "sweep"
    sweep_s = _timed_train(*common, "--workdir", str(sweep_dir),
                           "--sweep", "seed=" + ",".join(map(str, seeds)))
    print(f"sweep of {args.seeds} seeds: {sweep_s:.1f} s", flush=True)
    single_s = []
    for seed in seeds:
        single_s.append(_timed_train(*common, "--workdir", str(root / f"seed{seed}"),
                                     f"--config.seed={seed}"))
        print(f"single run seed {seed}: {single_s[-1]:.1f} s", flush=True)

    report = json.loads(_jresgen("eval", "--workdir", str(sweep_dir), "--json"))
    variants = report["variants"]
    assert [v["sweep"]["seed"] for v in variants] == seeds, "eval --json misses variants"
    singles = [json.loads(_jresgen("eval", "--workdir", str(root / f"seed{seed}"), "--json"))
               for seed in seeds]
    figures = {
        "config": args.config, "overrides": args.overrides, "seeds": args.seeds,
        "step": report["step"],
        "sweep_wall_s": round(sweep_s, 1),
        "singles_wall_s": [round(s, 1) for s in single_s],
        "singles_total_wall_s": round(sum(single_s), 1),
        "speedup": round(sum(single_s) / sweep_s, 3),
        "psnr_y_sweep": [round(_mean_psnr_y(v), 3) for v in variants],
        "psnr_y_single": [round(_mean_psnr_y(s), 3) for s in singles],
        "psnr_y_bicubic": round(variants[0]["mean"]["bicubic"]["psnr_y"], 3),
    }
    print(json.dumps(figures, indent=1))
    if args.out:
        Path(args.out).write_text(json.dumps(figures, indent=1) + "\n")


if __name__ == "__main__":
    main()
