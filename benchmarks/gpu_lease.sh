#!/usr/bin/env bash
# Every GPU figure of benchmarks/README.md in one short lease of a GPU machine, most important
# first; each phase has its own time limit and every results file is written as it goes, so a
# lease that ends early keeps what was measured.
#
#   bash benchmarks/gpu_lease.sh [RESULTS_DIR]      (default: $OUT, else benchmarks/results)
#
# A later lease can fill what an earlier one left: PHASES names the phases to run (default: all,
# in the order below), F32_FAMILIES / BF16_FAMILIES the families, and TAG goes into the names
# of the results files (gpu_float32${TAG}.json), e.g. TAG=_h100 for another card.
#
# RESULTS_DIR receives the log and the JSON files only (a lease brings back few files); the
# tables and plots are made from them afterwards with `python -m benchmarks.run --render F`.
#
# Pure-Python dependencies missing from the machine's image (ml-collections, tensorboardX) can
# travel as wheels in .whl/ (they are installed into /tmp/site first).
set -u -o pipefail
OUT_DIR=${1:-${OUT:-benchmarks/results}}
WORK=$(mktemp -d)
mkdir -p "$OUT_DIR"
export PYTHONUNBUFFERED=1
if ls .whl/*.whl >/dev/null 2>&1; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
    --target /tmp/site .whl/*.whl && export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
fi
export PYTHONPATH=$PWD${PYTHONPATH:+:$PYTHONPATH}
TAG=${TAG:-}
PHASES=${PHASES:-"float32 bfloat16 remat precision jit sweep input texture"}
LOG="$OUT_DIR/gpu_lease${TAG}.log"
{
  nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.sm --format=csv
  python3 -c "import jax, flax, optax, torch; print('jax', jax.__version__, 'flax', flax.__version__, 'optax', optax.__version__, 'torch', torch.__version__)"
} 2>&1 | tee "$LOG"
# jresgen's CPU XLA flag must not break a GPU jaxlib (XLA aborts on flags it does not know).
if ! python3 -c "import jresgen, jax; print(jax.devices())" >>"$LOG" 2>&1; then
  echo "jresgen's CPU XLA defaults break this jaxlib: the rest runs with JRESGEN_NO_XLA_DEFAULTS=1" \
    | tee -a "$LOG"
  export JRESGEN_NO_XLA_DEFAULTS=1
fi

phase() {  # phase NAME SECONDS COMMAND...: one phase under its own time limit, logged
  local name=$1 limit=$2; shift 2
  [[ " $PHASES " == *" $name "* ]] || return 0
  echo "== $(date +%T) $* (limit ${limit} s)" | tee -a "$LOG"
  timeout "$limit" "$@" 2>&1 | tee -a "$LOG"
  echo "== exit ${PIPESTATUS[0]}" | tee -a "$LOG"
  cp "$WORK"/*.json "$OUT_DIR"/ 2>/dev/null
}

ALL="sr_x2 edsr_baseline_x2 resnet20_cifar10 sngan_cifar10 dcgan_cifar10 vae_digits \
style_transfer texture_net_brick lenet_digits sr_seed_net dcgan_digits"
CORE="sr_x2 edsr_baseline_x2 resnet20_cifar10 sngan_cifar10 style_transfer vae_digits"
F32_FAMILIES=${F32_FAMILIES:-$ALL}
BF16_FAMILIES=${BF16_FAMILIES:-$CORE}
# float32: every family, the default strategy (pmap) against PyTorch eager
phase float32 ${T_F32:-250} python3 -m benchmarks.run --device gpu --family $F32_FAMILIES --parallelism pmap \
  --xla-setting tuned --torch-mode eager --timeout 100 --out "$WORK/gpu_float32${TAG}.json"
# bfloat16 compute, float32 parameters (PyTorch under torch.autocast)
phase bfloat16 ${T_BF16:-130} python3 -m benchmarks.run --device gpu --dtype bfloat16 --family $BF16_FAMILIES \
  --parallelism pmap --xla-setting tuned --torch-mode eager --timeout 100 \
  --out "$WORK/gpu_bfloat16${TAG}.json"
# rematerialisation: XLA:GPU keeps the recomputation that XLA:CPU merges away
phase remat ${T_REMAT:-70} python3 -m benchmarks.remat --family edsr_baseline_x2 sngan_cifar10
# bfloat16 drift from float32 and its speed on a whole config
phase precision ${T_PREC:-40} python3 -m benchmarks.precision --config configs/sr_x2.py --steps 300
# jit against pmap and torch.compile, where time is left
phase jit ${T_JIT:-60} python3 -m benchmarks.run --device gpu --family sr_x2 resnet20_cifar10 \
  --parallelism jit pmap --xla-setting tuned --torch-mode eager compile --timeout 100 \
  --out "$WORK/gpu_float32_jit_compile${TAG}.json"
# a sweep in one program against its single steps (vmapped all at once: the accelerator default)
phase sweep ${T_SWEEP:-60} python3 -m benchmarks.sweep --config configs/sr_x2.py --variants 8 \
  --vmap-size 1 8
# the input pipeline's share of the step, with and without the prefetch thread
phase input ${T_INPUT:-120} python3 -m benchmarks.input_share --steps 20 --rounds 2 \
  --case "sr_x2 embedded photos" "resnet20_cifar10 tfds (ArrayRecord)" "sr_x2 image folder" \
  "classifier_digits embedded" --out "$WORK/gpu_input_share${TAG}.json"
# issue 9: does the brick texture net close its bricks given an accelerator's steps? (not a
# benchmark: a longer training of configs/texture_net_brick.py and a 512x512 sample back)
JRESGEN=(python3 -c "import sys; from jresgen.cli import main; sys.exit(main())")
phase texture ${T_TEXTURE:-120} bash -c '"${@:1:3}" train --config configs/texture_net_brick.py \
  --workdir "$4/texture" --config.total_steps=4000 --config.checkpoint_every=4000 \
  --config.log_every=500 --config.loss.pyramid=3 --config.data.patch_size=256 \
  && "${@:1:3}" sample --workdir "$4/texture" --size 512x512 "$5/texture_net_brick_512${6}.png"' \
  _ "${JRESGEN[@]}" "$WORK" "$OUT_DIR" "$TAG"
ls -la "$OUT_DIR"
