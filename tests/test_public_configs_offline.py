"""Offline, every public-data config stops `jresgen train` with one line that says what to do
(install the `tfds` extra, or prepare the dataset with `tfds build`), and writes nothing: not
the work directory, not the data directory. Runs with and without the extra installed."""
import importlib.util

import pytest

from conftest import CONFIGS, one_line_error

PUBLIC = ["edsr_baseline_div2k_x2.py", "edsr_baseline_div2k_x3.py", "edsr_baseline_div2k_x4.py",
          "resnet20_cifar10.py", "resnet50_imagenette.py", "vae_mnist.py", "vae_cifar10.py",
          "sngan_cifar10.py", "dcgan_cifar10.py", "dcgan_celeba64.py", "sngan_dtd.py"]
HAVE_TFDS = importlib.util.find_spec("tensorflow_datasets") is not None


@pytest.mark.parametrize("name", PUBLIC)
def test_public_config_offline_is_one_line(capsys, tmp_path, name):
    workdir, data_dir = tmp_path / "run", tmp_path / "tfds"
    match = "tfds build" if HAVE_TFDS else "pip install 'jresgen[tfds]'"
    one_line_error(capsys, ["train", "--config", f"{CONFIGS / name}:tiny", "--workdir",
                            str(workdir), f"--config.data.data_dir={data_dir}"], match)
    assert not workdir.exists() and not data_dir.exists()


def test_every_public_config_is_listed():
    shipped = {p.name for p in CONFIGS.glob("*.py") if not p.name.startswith("common_")}
    public = {n for n in shipped if '"tfds"' in (CONFIGS / n).read_text()
              or "tfds_data(" in (CONFIGS / n).read_text()}
    assert public <= set(PUBLIC), sorted(public - set(PUBLIC))
