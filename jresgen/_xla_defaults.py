"""XLA flags jresgen applies on the CPU unless the user has chosen otherwise.

XLA's CPU backend routes convolutions through its YNNPACK fusion by default; on the
weight-gradient convolution of a training step that path is about 2x slower than XLA's own
convolution emitter (benchmarks/results/ shows both settings side by side). Excluding
individual convolutions from the YNN fusion fixes that. The flag only concerns the CPU
backend, so it is harmless on GPU/TPU hosts.

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
