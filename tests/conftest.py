"""Every test process sees four fake CPU devices, so data parallelism is exercised for real;
single-device runs take `jax.local_devices()[:1]`. XLA reads the flag when the first backend
starts, so it is set here, before anything imports jax."""
import os
import sys
from pathlib import Path

os.environ["XLA_FLAGS"] = (os.environ.get("XLA_FLAGS", "") +
                           " --xla_force_host_platform_device_count=4").strip()

import pytest  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
CONFIGS = ROOT / "configs"


@pytest.fixture(scope="session")
def configs_dir() -> Path:
    return CONFIGS


def tiny_sr_config(**overrides):
    """The sr_x2 config's :tiny variant with `overrides` applied (dotted keys allowed)."""
    from jresgen.config import apply_overrides, load_config
    config = load_config(f"{CONFIGS / 'sr_x2.py'}:tiny")
    apply_overrides(config, [f"{k.replace('__', '.')}={v}" for k, v in overrides.items()])
    return config


sys.path.insert(0, str(Path(__file__).parent))
