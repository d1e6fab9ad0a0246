"""`jresgen train --profile START:STOP`: a `jax.profiler` trace of the train steps that take the
state from step START to step STOP, written next to the run's TensorBoard scalars.

    WORKDIR/tensorboard/plugins/profile/<time>/<host>.xplane.pb     TensorBoard's Profile tab
    WORKDIR/tensorboard/plugins/profile/<time>/perfetto_trace.json.gz   https://ui.perfetto.dev

The first step of a process compiles: start the window after it (e.g. 10:15) to see the
steady state. The window ends with the device work of its last step done
(`block_until_ready`), so the trace holds whole steps.
"""
from pathlib import Path

import jax

from jresgen.errors import UserError


def parse_window(text: str) -> tuple[int, int]:
    """'START:STOP' -> (START, STOP), 0 <= START < STOP."""
    try:
        start, stop = (int(part) for part in text.split(":"))
    except ValueError:
        raise UserError(f"--profile takes START:STOP (two step numbers), got {text!r}") from None
    if not 0 <= start < stop:
        raise UserError(f"--profile START:STOP needs 0 <= START < STOP, got {text!r}")
    return start, stop


class StepProfiler:
    """Starts the trace before the step that leaves `start`, stops it once the state has
    reached `stop` (or when the loop ends first). A window of None does nothing."""

    def __init__(self, window: tuple[int, int] | None, workdir: Path, first_step: int, say):
        self.window, self.active = window, False
        self.log_dir = Path(workdir) / "tensorboard"
        self._say = say
        if window and first_step >= window[1]:
            say(f"--profile {window[0]}:{window[1]}: this run starts at step {first_step}, "
                f"after the window; nothing is traced")
            self.window = None

    def before_step(self, step: int) -> None:
        if self.window and not self.active and self.window[0] <= step < self.window[1]:
            self.first = step
            jax.profiler.start_trace(str(self.log_dir), create_perfetto_trace=True)
            self.active = True

    def after_step(self, step: int, outputs) -> None:
        if self.active and step >= self.window[1]:
            jax.block_until_ready(outputs)
            self._stop(step)

    def close(self, step: int) -> None:
        """At the end of the loop (normal or not): a trace still open is written."""
        if self.active:
            self._stop(step)

    def _stop(self, step: int) -> None:
        jax.profiler.stop_trace()
        self.active, self.window = False, None
        self._say(f"profile of steps {self.first}:{step} written under "
                  f"{self.log_dir / 'plugins' / 'profile'} (TensorBoard: --logdir "
                  f"{self.log_dir}, Profile tab; Perfetto: perfetto_trace.json.gz)")
