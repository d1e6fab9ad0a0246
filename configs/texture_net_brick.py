"""A feed-forward texture network (Ulyanov et al. 2016, residual blocks with instance norm)
trained on scikit-image's brick exemplar; it then makes brick textures of any size in one
forward pass.

    jresgen train --config configs/texture_net_brick.py --workdir runs/texture_net_brick
    jresgen eval --workdir runs/texture_net_brick --json
    jresgen sample --workdir runs/texture_net_brick --size 512x512 brick_512.png

Measured on the quiet 2-core CPU (2026-11-27): `/usr/bin/time -v jresgen train --config
configs/texture_net_brick.py --workdir DIR`, 6500 steps in 7 min 18 s wall (742 s user + 77 s
system, ~15.5 steps/s). Eval gram_distance 0.0048 over 4 samples of 256x256, vs 0.072 between
the scaled exemplar's two halves and 87 for noise (measured with this config's features, the
"extremes" pyramid, against the exemplar at `data.exemplar_scale`: they do not compare with
the figures below, taken with the average pyramid). `sample --size 512x512` (5.5 s):
benchmarks/results/cpu_texture_net_brick_512.png, and beside the half-scale exemplar and the
previous config's sample in cpu_texture_net_brick_compare.png. The textures are at half the
photo's scale (bricks ~15x40 pixels). The sample is a brick wall: dark flat grey bricks a
brick's width across and two to four times as tall, each outlined by light mortar, in columns,
with the joints of neighbouring columns staggered. Not a photograph of one: the outlines are
wavy and the corners rounded, some bricks run together or carry a faint half joint, and the
mortar is blotchy where joints meet.

What made the difference (runs A-F below): the loss could not see the bricks. The features
are random filters on an image pyramid whose levels were 2x2 means; a 2-pixel mortar line is
at a quarter of its contrast two levels down and gone at four, and only those coarse levels
span a brick. `python -m benchmarks.texture_losses benchmarks/results/
cpu_texture_net_brick_512.png` (on the previous config's sample) measured it: its 128-pixel
crops were 0.0088 from the exemplar's Grams and real crops of the exemplar 0.0228, so the loss
rated the streaks above the wall. `features.pooling="extremes"` builds the pyramid of 2x2
maxima and of 2x2 minima instead, which keep a thin light or dark line at full contrast at
every level: real crops 0.022, those streaks 0.118 (this config's sample: 0.009). With it the
net drew bricks lined up on a 16-pixel grid (the pooling grid: max pooling is not shift
invariant); `loss.random_shift=True` rolls each tiling output by a random offset before its
features, and the grid went. Runs of this config's net and data, 6500 steps, two at a time on
the 2-core CPU (CPU-s = user + system of `/usr/bin/time -v`), 512x512 samples beside the
half-scale exemplar:
- A: `features.pooling=extremes`, else the previous config (pyramid=3, level_weights=(1, 2,
  4), fine_ramp_steps=400, shift_grams=(32,)): 0.0064, 831 CPU-s; long bricks
  closed in places, flat faces, but doubled lines and joints along a 16-pixel grid.
- B: A with pyramid=1, no weights or ramp: 0.0032, 724 CPU-s; closed small bricks on the
  grid, too short, with banded shading.
- C: B with `loss.random_shift=True`: 0.0046, 752 CPU-s; no grid; columns of closed bricks
  with rounded ends, short, wavy columns.
- D: C with `shift_grams=()`: 0.0045, 742 CPU-s; longer bricks, straighter columns, fewer
  closed.
- E: A with random_shift: 0.0082, 869 CPU-s; short rounded cells like cobbles: worse.
- F: D with `pyramid=2` (this config): 0.0048, 819 CPU-s in parallel; the most closed bricks,
  straightest columns. Its quiet rerun (the figures above) drew the bit-identical sample.
Tried the same day, with the average pyramid, each worse than the previous config (not kept
in jresgen): a Fourier-modulus term (Liu et al. 2016; weights 4 and 16: 0.0044 and 0.0072,
~886 CPU-s each; wavy vertical lines, fewer joints) and learned plane waves added to the noise
(the Periodic Spatial GAN's inputs; 4 and 8 waves: 0.0023 and 0.0051, ~895 CPU-s; grainier,
fewer joints: the lower distance, as before, no sign of a better wall).

Before this, with the average pyramid (these distances are against its features): what
changed from one 256x256 patch per step, 1600 steps, to the previous config (levers in the
order tried, all on the shared CPU, 512x512 samples looked at next to the exemplar):
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
- that with 6500 steps (the previous config; 7 min 30 s quiet): 0.0026, 825 CPU-s; straight
  light vertical lines a brick apart, short horizontal joints staggered between columns,
  here and there closing a rectangle, but most bricks open, faint extra vertical lines, and
  a grainy crosshatch on the faces.

Generator capacity at the coarse scales (`model.features` and `model.blocks` one per scale,
finest first), all else the previous config, 6500 steps, shared CPU (`/usr/bin/time -v`),
512x512 samples looked at next to the exemplar; none makes a brick wall, so the config kept
its net:
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

The config before that (`data.exemplar_scale=1.0, data.patch_size=256, total_steps=1600`): 7
min 18 s on the quiet CPU (760 s user + 66 s system), eval 0.0038 (floor 0.082, noise 2.07); its
sample had light vertical mortar lines about a brick apart, crossed by short light horizontal
joints, some staggered; the joints blurred and often doubled, few bricks closed, the faces a
fine vertical grain.

The previous config's loss: `loss.pyramid=3` with `level_weights=(1, 2, 4)` (the pooled
levels, whose features span whole bricks, count more), level 0 ramped in over the first 400
steps (`fine_ramp_steps`), and shifted Gram matrices 32 pixels down and right (`shift_grams`,
Berger & Memisevic 2017).
Runs before the exemplar scale, full-scale exemplar, on the loaded CPU, 512x512 samples:
- pyramid=3, 256x256, batch 1, lr 4e-3, shift_grams=(16, 32, 64) (62 shifted terms), 800
  steps: 0.0096, 13 min 10 s; short vertical streaks and speckle, no joints.
- pyramid=3, 256x256, batch 1, lr 4e-3, level_weights=(1, 2, 4), fine_ramp_steps=400,
  shift_grams=(32,), 1200 steps: 0.0052, 15 min 42 s; shorter broken vertical lines, a few
  joints. At 1600 steps (the config then) the lines run through and the joints multiply.
- (an earlier run) pyramid=3, 256x256, batch 1, lr 4e-3, 1100 steps, without the
  shifted Grams: 0.0031, 6 min 30 s quiet; mortar lines and horizontal joints, plaid-like.
- that config with `--config.loss.shift_grams=()`, 1600 steps: 0.0033, 10 min 48 s (lighter
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
    config.features.pooling = "extremes"  # the joints at full contrast at every level
    # pyramid: Gram terms of the outputs pooled by 1, 2, .. 2^(pyramid-1) against the exemplar
    # pooled the same way (jresgen/texture/pyramid.py); 1 = the plain loss. batch_gram: match
    # the batch's mean Gram matrix, not each sample's (jresgen/tasks/texture_net.py).
    # level_weights: a weight per pyramid level (empty: 1 each); fine_ramp_steps: level 0's
    # terms ramped in from 0 over that many steps (0: off); shift_grams: distances (output
    # pixels) at which shifted Gram matrices (Berger & Memisevic 2017) are matched too (empty:
    # off; jresgen/texture/pyramid.py); random_shift: each output rolled by a random offset
    # before its features, so the net cannot align bricks to the pooling grid
    config.loss = ml_collections.ConfigDict(dict(
        pyramid=2, batch_gram=False, level_weights=(), fine_ramp_steps=0, shift_grams=(),
        random_shift=True))
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
    config.evaluation.num_samples = 2
    return config
