"""XLA flags jresgen applies on the CPU unless the user has chosen otherwise.

XLA's CPU backend routes convolutions through its YNNPACK fusion by default; on the
weight-gradient convolution of a training step that path is about 2x slower than XLA's own
convolution emitter (benchmarks/results/ shows both settings side by side). Excluding
individual convolutions from the YNN fusion fixes that. The flag only concerns the CPU
backend, so it is harmless on GPU/TPU hosts.

One flag for every family, because per family it measured the same way: on two threads each
family timed under both settings was faster with it (sr_seed_net, sr_x2, EDSR-baseline, VAE:
benchmarks/results/cpu_float32_sr_vae_hugepages.md). Only on one thread does YNNPACK win, for
small convolutions (EDSR-baseline, 4x24x24x64: 113 vs 127 ms per step), since it runs them on
a single thread anyway; benchmarks/README.md, "EDSR-baseline's gap", has the per-pass figures.
Where XLA's weight gradient itself was the slow part (few images per device), jresgen computes
it another way whatever the flag: jresgen/nn/conv3x3.py.

XLA reads XLA_FLAGS once, when the first backend starts; this module must therefore run
before any JAX computation. A user's own setting of the same flag always wins, and
JRESGEN_NO_XLA_DEFAULTS=1 turns the defaults off altogether.
"""
import os

CPU_DEFAULT_FLAGS = {
    "--xla_cpu_experimental_ynn_fusion_type": "-individual_convolution",
}


def apply_cpu_defaults(environ=os.environ) -> list[str]:
    """Append each default flag the user has not set; returns the flags added."""
    if environ.get("JRESGEN_NO_XLA_DEFAULTS") == "1":
        return []
    current = environ.get("XLA_FLAGS", "")
    added = [f"{name}={value}" for name, value in CPU_DEFAULT_FLAGS.items() if name not in current]
    if added:
        environ["XLA_FLAGS"] = " ".join([current, *added]).strip()
    return added
