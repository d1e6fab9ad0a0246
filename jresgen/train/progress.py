"""Progress: a tqdm bar (steps/s, loss, ETA) on a terminal, plain periodic lines otherwise."""
import io
import sys
import time


class Progress:
    def __init__(self, start: int, total: int, stream=None, quiet: bool = False):
        """quiet: prints nothing (the processes other than 0 of a multi-process run)."""
        self.stream = _Discard() if quiet else (stream or sys.stderr)
        self.total, self.start = total, start
        self.t0, self.last_step = time.perf_counter(), start
        self.bar = None
        if self.stream.isatty():
            from tqdm import tqdm
            self.bar = tqdm(total=total, initial=start, file=self.stream, unit="step",
                            dynamic_ncols=True)

    def tick(self, step: int) -> None:
        """Called after every step: moves the bar (tqdm limits its own redraw rate)."""
        if self.bar is not None:
            self.bar.update(step - self.last_step)
            self.last_step = step

    def update(self, step: int, metrics: dict[str, float]) -> None:
        """Called at log steps with the step reached and its metrics."""
        shown = {k: f"{v:.4g}" for k, v in metrics.items() if k in ("loss", "d_loss", "g_loss")}
        if self.bar is not None:
            self.tick(step)
            self.bar.set_postfix(shown)
        else:
            # The loop's rate leaves out compilation, evaluation and checkpoints; the mean
            # since the start is the fallback (the first window has no rate of its own).
            elapsed = time.perf_counter() - self.t0
            rate = metrics.get("steps_per_sec") or \
                ((step - self.start) / elapsed if elapsed > 0 else 0.0)
            eta = (self.total - step) / rate if rate > 0 else float("nan")
            text = " ".join(f"{k}={v}" for k, v in shown.items())
            print(f"step {step}/{self.total} {text} {rate:.2f} steps/s eta {eta:.0f}s",
                  file=self.stream, flush=True)
        self.last_step = step

    def write(self, line: str) -> None:
        (self.bar.write if self.bar is not None else print)(line, file=self.stream)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


class _Discard(io.TextIOBase):
    def write(self, text: str) -> int:
        return len(text)
