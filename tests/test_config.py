"""Configs: every shipped config loads, overrides are typed, the XLA defaults are polite."""
import pytest

from conftest import CONFIGS
from jresgen._xla_defaults import apply_cpu_defaults
from jresgen.config import REQUIRED_KEYS, apply_overrides, load_config
from jresgen.errors import UserError

SHIPPED = sorted(p.name for p in CONFIGS.glob("*.py") if not p.name.startswith("common_"))


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("variant", ["", ":tiny"])
def test_shipped_configs_load(name, variant):
    config = load_config(f"{CONFIGS / name}{variant}")
    assert all(k in config for k in REQUIRED_KEYS)


def test_edsr_baseline_is_the_papers():
    c = load_config(str(CONFIGS / "edsr_baseline_x2.py"))
    assert (c.model.num_blocks, c.model.features, c.data.patch_size, c.batch_size) == \
        (16, 64, 48, 16)


def test_overrides_convert_to_the_keys_type():
    config = load_config(str(CONFIGS / "sr_x2.py"))
    apply_overrides(config, ["batch_size=8", "learning_rate=3e-4", "model.norm=batch",
                             "data.train_images=('astronaut',)", "model.subtract_mean=false"])
    assert config.batch_size == 8 and config.learning_rate == 3e-4
    assert config.model.norm == "batch" and config.data.train_images == ("astronaut",)
    assert config.model.subtract_mean is False
    with pytest.raises(UserError, match="expects a bool"):
        apply_overrides(config, ["model.subtract_mean=maybe"])
    with pytest.raises(UserError, match="not of the form"):
        apply_overrides(config, ["batch_size"])


def test_xla_defaults_respect_the_users_flags():
    env = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
    assert apply_cpu_defaults(env)
    assert "ynn_fusion_type=-individual_convolution" in env["XLA_FLAGS"]
    assert "device_count=2" in env["XLA_FLAGS"]
    mine = {"XLA_FLAGS": "--xla_cpu_experimental_ynn_fusion_type=none"}
    assert apply_cpu_defaults(mine) == [] and mine["XLA_FLAGS"].endswith("=none")
    off = {"JRESGEN_NO_XLA_DEFAULTS": "1"}
    assert apply_cpu_defaults(off) == [] and "XLA_FLAGS" not in off
