"""What `jresgen upscale --ensemble` (EDSR's x8 self-ensemble) gains on the validation photos:
Y-PSNR of an SR work directory's latest checkpoint with and without it, under panel
degradations (jresgen/data/degradation_panel.py).

    python scripts/sr_ensemble_gain.py --workdir runs/sr_x2_real [--degradations bicubic,jpeg]

The ensemble costs eight forward passes per image.
"""
import argparse

import numpy as np

from jresgen.data.degradation_panel import PANEL, panel_lr
from jresgen.data.resize import quantize
from jresgen.metrics import sr_metrics
from jresgen.train.loop import load_workdir


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--workdir", required=True)
    parser.add_argument("--degradations", default=",".join(PANEL),
                        help="comma-separated panel entries (default: all)")
    args = parser.parse_args()
    config, task, state, pairs = load_workdir(args.workdir)
    s = config.model.scale
    plain, ensemble = task.upscaler(config, state), task.upscaler(config, state, ensemble=True)
    print(f"{args.workdir} at step {int(state.step)}: Y-PSNR (dB) on the validation photos")
    print(f"{'degradation':<24}{'image':<12}{'model':>9}{'x8 ens.':>9}{'gain':>8}")
    gains = []
    for name in args.degradations.split(","):
        for pair in pairs:
            lr = panel_lr(name, pair.hr, s, pair.name)
            a, b = (sr_metrics(quantize(up(lr)), pair.hr, s)["psnr_y"] for up in (plain, ensemble))
            gains.append(b - a)
            print(f"{name:<24}{pair.name:<12}{a:9.3f}{b:9.3f}{b - a:+8.3f}")
    print(f"mean ensemble gain: {np.mean(gains):+.3f} dB over {len(gains)} images")


if __name__ == "__main__":
    main()
