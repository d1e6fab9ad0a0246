"""Metric writing: one JSON object per logged step in metrics.jsonl, and TensorBoard events."""
import json
import math
from pathlib import Path


class MetricWriter:
    def __init__(self, workdir: Path):
        self.path = Path(workdir) / "metrics.jsonl"
        self._tb = None
        self._tb_dir = Path(workdir) / "tensorboard"

    def write(self, step: int, metrics: dict[str, float]) -> None:
        record = {"step": int(step), **{k: _jsonable(v) for k, v in metrics.items()}}
        self.path.parent.mkdir(parents=True, exist_ok=True)  # a sweep variant's directory
        with open(self.path, "a") as f:
            f.write(json.dumps(record) + "\n")
        if self._tb is None:
            from tensorboardX import SummaryWriter  # imported on first write: slow to import
            self._tb = SummaryWriter(str(self._tb_dir))
        for key, value in metrics.items():
            self._tb.add_scalar(key, float(value), int(step))

    def truncate_after(self, step: int) -> None:
        """Drops records past `step`: a resumed run rewrites what the interrupted one logged
        after its last checkpoint, so the file holds each step once."""
        if not self.path.exists():
            return
        lines = self.path.read_text().splitlines()
        kept = [line for line in lines if line and json.loads(line)["step"] <= step]
        tmp = self.path.with_suffix(".jsonl.tmp")
        tmp.write_text("".join(line + "\n" for line in kept))
        tmp.replace(self.path)

    def close(self) -> None:
        if self._tb is not None:
            self._tb.close()


def _jsonable(value):
    value = float(value)
    return value if math.isfinite(value) else str(value)
