"""The tunables of texture synthesis, apart from the code so the CLI can show their defaults
without importing JAX."""
import dataclasses


@dataclasses.dataclass
class SynthesisOptions:
    steps: int = 200  # in all levels together
    levels: int = 3  # coarse-to-fine pyramid levels (1 = full size only)
    optimizer: str = "lbfgs"  # or "adam"
    learning_rate: float = 0.02  # Adam's, on pixels in [0, 1]
    chunk: int = 20  # optimiser steps per jitted call (the progress bar moves between calls)
    features: object = None  # a `features` config section; None: random multi-scale
