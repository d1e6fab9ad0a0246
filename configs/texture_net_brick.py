"""A feed-forward texture network (Ulyanov et al. 2016, residual blocks with instance norm)
trained on scikit-image's brick exemplar; it then makes brick textures of any size in one
forward pass.

    jresgen train --config configs/texture_net_brick.py --workdir runs/texture_net_brick
    jresgen eval --workdir runs/texture_net_brick --json
    jresgen sample --workdir runs/texture_net_brick --size 512x512 brick_512.png

Measured on the quiet 2-core CPU (2026-11-27): `/usr/bin/time -v jresgen train --config
configs/texture_net_brick.py --workdir DIR`, 6500 steps in 7 min 30 s wall (767 s user + 74 s
system; shared CPU, one core: 825 CPU-s, 13 min 51 s; the previous config, below, 7 min 18 s). Eval gram_distance 0.0026 over 4 samples of
256x256, vs 0.069 between the scaled exemplar's two halves and 2.39 for noise (these three
are measured against the exemplar at `data.exemplar_scale`, so they do not compare with the
unscaled figures below). `sample --size 512x512`: benchmarks/results/
cpu_texture_net_brick_512.png. The textures are at half the photo's scale (bricks ~15x40
pixels). The sample has straight light vertical mortar lines about a brick's width apart, most
running a long way, crossed by short horizontal joints, staggered between neighbouring columns,
that meet them in T-junctions and here and there close a rectangle (more of them than at 5000
steps): the exemplar's staggered layout, sharper than the previous
config's wavy, doubled lines. Still not a brick wall: most bricks are not closed, faint extra
vertical lines fall between the mortar lines, and the faces are a grainy crosshatch instead of
the photo's flat grey.

What changed (one 256x256 patch per step before, 1600 steps; levers in the order tried, all
on the shared CPU, 512x512 samples looked at next to the exemplar):
- `data.exemplar_scale=0.5` (bricks ~15x40 pixels: the features' and the generator's reach,
  fixed in pixels, then spans whole bricks), else the previous config, 1600 steps: 0.0049
  (scaled floor 0.069), 888 CPU-s; a fine grainy crosshatch with vertical streaks, no joints:
  worse.
- the same with `data.patch_size=128` (the same bricks per patch as 256 at full scale, a
  quarter of the pixels: ~0.13 CPU-s a step instead of ~0.5) and 5000 steps: 0.0032, 652
  CPU-s; straight vertical lines a brick apart, short staggered joints in T-junctions, a few
  closed bricks; grainy faces.
- that with `loss.shift_grams=(16, 32)` (16: a scaled brick's width): 0.0037, 696 CPU-s; the
  vertical lines more evenly a brick apart, but fewer joints.
- that with `loss.fine_ramp_steps=2500`: 0.0034, 650 CPU-s; much the same, the vertical lines
  more broken.
- that with `loss.level_weights=(1, 4, 16)`: 0.0052, 640 CPU-s; fainter, fewer joints and
  grainier faces: worse.
- that with 6500 steps (this config): 0.0026, 825 CPU-s; the sample described above.

Generator capacity at the coarse scales (`model.features` and `model.blocks` one per scale,
finest first), all else this config, 6500 steps, shared CPU (`/usr/bin/time -v`), 512x512
samples looked at next to the exemplar; none makes a brick wall, so the config keeps its net:
- `features=(32, 32, 64, 128, 128), blocks=(1, 1, 1, 2, 2)` (2.3 M parameters against 0.22 M):
  0.0032, 1042 CPU-s (957 user + 85 system); the same straight vertical lines, more short
  horizontal joints, more of them closing a cell, but placed at random rather than in
  staggered courses, and the faces as grainy: no better.
- `scales=6` (a 4x4 coarsest map at 128x128), `features=(32, 32, 64, 96, 128, 128), blocks=
  (1, 1, 1, 2, 2, 2)`: 0.0028, 1079 CPU-s (987 + 92: over the budget), training loss at the
  end ~0.29 against the wide 5-scale net's ~0.54; the columns more even and many more
  horizontal joints in T-junctions, some rectangles closed, but the vertical lines wavy and
  in places doubled, joints that run on across two or three columns, and the same grainy
  crosshatch: more joints, still not closed bricks in courses.
- that 6-scale net with `batch_size=2, total_steps=3250` (the same CPU, half the updates):
  0.0064, 1008 CPU-s (911 + 97); short broken vertical streaks, almost no joints, grain all
  over: worse.

The previous config (`data.exemplar_scale=1.0, data.patch_size=256, total_steps=1600`): 7 min
18 s on the quiet CPU (760 s user + 66 s system), eval 0.0038 (floor 0.082, noise 2.07); its
sample had light vertical mortar lines about a brick apart, crossed by short light horizontal
joints, some staggered; the joints blurred and often doubled, few bricks closed, the faces a
fine vertical grain.

The loss: `loss.pyramid=3` with `level_weights=(1, 2, 4)` (the pooled levels, whose features
span whole bricks, count more), level 0 ramped in over the first 400 steps (`fine_ramp_steps`),
and shifted Gram matrices 32 pixels down and right (`shift_grams`, Berger & Memisevic 2017).
Runs before the exemplar scale, full-scale exemplar, on the loaded CPU, 512x512 samples:
- pyramid=3, 256x256, batch 1, lr 4e-3, shift_grams=(16, 32, 64) (62 shifted terms), 800
  steps: 0.0096, 13 min 10 s; short vertical streaks and speckle, no joints.
- pyramid=3, 256x256, batch 1, lr 4e-3, level_weights=(1, 2, 4), fine_ramp_steps=400,
  shift_grams=(32,), 1200 steps: 0.0052, 15 min 42 s; shorter broken vertical lines, a few
  joints. At 1600 steps (this config) the lines run through and the joints multiply.
- (an earlier run) pyramid=3, 256x256, batch 1, lr 4e-3, 1100 steps, without the
  shifted Grams: 0.0031, 6 min 30 s quiet; mortar lines and horizontal joints, plaid-like.
- this config with `--config.loss.shift_grams=()`, 1600 steps: 0.0033, 10 min 48 s (lighter
  load: 167 % CPU, 804 s user + 285 s system: the shifted terms cost ~6 % of the CPU time);
  denser vertical lines, closer than a brick's width, and horizontal joints running across
  many columns: plaid. The shifted Grams are what space the lines and break up the joints;
  the lower Gram distance without them is no sign of a better wall.
Before that, with 128x128 patches, batch 4, 600 steps (6 min 48 s quiet, 0.0079): vertical
streaks. `loss.pyramid=3` and `loss.batch_gram=True` (each alone, 200 steps on a loaded CPU:
eval gram_distance 0.0117 and 0.0109 against 0.0135) did not change that; batch_gram stays off.
"""
import ml_collections
from common_digits import apply_variant

from jresgen.config import base_config
from jresgen.models.features import default_features_config


def get_config(variant=None):
    config = base_config("texture_net")
    config.total_steps = 6500
    config.batch_size = 1
    config.learning_rate = 4e-3
    config.log_every = 50
    config.eval_every = 0  # at the end
    config.checkpoint_every = 3250
    config.optimizer.schedule = "warmup_cosine"
    config.optimizer.warmup_steps = 20
    config.model = ml_collections.ConfigDict(dict(
        scales=5, features=32, noise_channels=3, blocks=1, norm="instance",
        activation="leaky_relu", padding="CIRCULAR", dtype="float32"))
    # patch_size: training textures (a multiple of 2^(scales-1), at least the features' 80).
    # exemplar_scale: the exemplar resized by this (Lanczos) before its Gram matrices, and the
    # evaluation's floor and noise, are taken; the net's textures are at that scale
    config.data = ml_collections.ConfigDict(dict(
        name="texture_exemplar", exemplar="brick", exemplar_scale=0.5, patch_size=128,
        eval_size=256, eval_batch_size=4))
    config.features = default_features_config("random")
    # pyramid: Gram terms of the outputs pooled by 1, 2, .. 2^(pyramid-1) against the exemplar
    # pooled the same way (jresgen/texture/pyramid.py); 1 = the plain loss. batch_gram: match
    # the batch's mean Gram matrix, not each sample's (jresgen/tasks/texture_net.py).
    # level_weights: a weight per pyramid level (empty: 1 each); fine_ramp_steps: level 0's
    # terms ramped in from 0 over that many steps (0: off); shift_grams: distances (output
    # pixels) at which shifted Gram matrices (Berger & Memisevic 2017) are matched too (empty:
    # off; jresgen/texture/pyramid.py)
    config.loss = ml_collections.ConfigDict(dict(
        pyramid=3, batch_gram=False, level_weights=(1.0, 2.0, 4.0), fine_ramp_steps=400,
        shift_grams=(32,)))
    config.evaluation = ml_collections.ConfigDict(dict(num_samples=4))
    return apply_variant(config, variant, _tiny)


def _tiny(config):
    config.total_steps = 4
    config.log_every = 1
    config.checkpoint_every = 2
    config.batch_size = 4
    config.model.scales = 3
    config.model.features = 8
    config.data.patch_size = 32
    config.data.eval_size = 48
    config.features.layers = (0, 1)
    config.loss.fine_ramp_steps = 0  # 4 steps: tests check that the loss goes down
    config.loss.shift_grams = (8,)  # the 32 of the full config finds no map that wide here
    config.evaluation.num_samples = 2
    return config
