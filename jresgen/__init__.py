"""jresgen: residual-network image generation in JAX/Flax."""
from jresgen._xla_defaults import apply_cpu_defaults as _apply_cpu_defaults

_apply_cpu_defaults()

__version__ = "0.1.0"
