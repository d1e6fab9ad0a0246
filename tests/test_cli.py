"""The command line as a user meets it: the verbs on real inputs, and every mistake answered
with one line on stderr and exit status 2."""
import json
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from conftest import CONFIGS, one_line_error
from jresgen.cli import main

TINY = f"{CONFIGS / 'sr_x2.py'}:tiny"


@pytest.fixture(scope="module")
def sr_workdir(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("sr")
    assert main(["train", "--config", TINY, "--workdir", str(workdir)]) == 0
    return workdir




@pytest.mark.parametrize("argv,match", [
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.no_such_key=1"],
     "unknown config key: no_such_key"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.model.nope=1"],
     "unknown config key: model.nope"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.batch_size=abc"],
     "expects a int"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.batch_size=-4"],
     "batch_size must be a positive integer"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.batch_size=6"],
     "not divisible by the 4 devices"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--config.parallelism=dp"],
     "parallelism must be one of"),
    (["train", "--config", "configs/missing.py", "--workdir", "{tmp}"], "config file not found"),
    (["train", "--config", f"{CONFIGS / 'sr_x2.py'}:huge", "--workdir", "{tmp}"],
     "unknown variant"),
    (["train", "--workdir", "{tmp}"], "--config is required"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--profile", "5"], "START:STOP"),
    (["train", "--config", TINY, "--workdir", "{tmp}", "--profile", "3:1"], "START < STOP"),
    (["eval", "--workdir", "{tmp}"], "not a jresgen work directory"),
    (["upscale", "--workdir", "{tmp}", "in.png", "out.png"], "input image not found"),
    (["frobnicate"], "invalid choice"),
    ([], "required"),
])
def test_user_errors_get_one_line(capsys, tmp_path, argv, match):
    one_line_error(capsys, [a.replace("{tmp}", str(tmp_path)) for a in argv], match)


def test_upscale_without_a_work_directory(capsys, tmp_path):
    from jresgen.data.image_io import write_image
    write_image(tmp_path / "in.png", np.zeros((8, 8, 3), np.uint8))
    one_line_error(capsys, ["upscale", "--workdir", str(tmp_path / "none"),
                            str(tmp_path / "in.png"), str(tmp_path / "out.png")],
                   "not a jresgen work directory")


@pytest.mark.parametrize("umask,mode", [(0o022, 0o644), (0o077, 0o600)])
def test_written_files_get_the_umasks_permissions(tmp_path, monkeypatch, umask, mode):
    """Outputs are written to a mkstemp file (always 0600) and renamed: they must get the mode
    a plain open() would give under the process's umask, not owner-only."""
    import os

    from jresgen.data import image_io
    current = os.umask(0)
    os.umask(current)
    assert image_io._UMASK == current
    monkeypatch.setattr(image_io, "_UMASK", umask)
    image_io.write_image(tmp_path / "a.png", np.zeros((4, 4), np.uint8))
    image_io.write_npz(tmp_path / "a.npz", {"x": np.zeros(2)})
    assert {(tmp_path / f).stat().st_mode & 0o777 for f in ("a.png", "a.npz")} == {mode}


def test_eval_without_checkpoint(capsys, tmp_path):
    from jresgen.config import load_config
    (tmp_path / "config.json").write_text(load_config(TINY).to_json())
    code = main(["eval", "--workdir", str(tmp_path)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and len(err.splitlines()) == 1 and "jresgen: error:" in err, err


def test_eval_json_schema(capsys, sr_workdir):
    assert main(["eval", "--workdir", str(sr_workdir), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    keys = {"psnr_y", "ssim_y", "psnr_rgb"}
    assert out["step"] == 4
    assert set(out["mean"]) == {"model", "bicubic"}
    assert all(set(v) == keys for v in out["mean"].values())
    assert set(out["images"]) == {"chelsea"}
    assert all(set(v) == keys for v in out["images"]["chelsea"].values())


def test_eval_table(capsys, sr_workdir):
    assert main(["eval", "--workdir", str(sr_workdir)]) == 0
    assert "model - bicubic" in capsys.readouterr().out


@pytest.mark.parametrize("mode,size", [("RGB", (50, 37)), ("L", (40, 30)), ("RGBA", (33, 21)),
                                       ("P", (20, 20)), ("RGB", (150, 90))])
def test_upscale_any_image(tmp_path, sr_workdir, mode, size):
    rng = np.random.default_rng(0)
    channels = {"RGB": 3, "L": 1, "RGBA": 4, "P": 1}[mode]
    pixels = rng.integers(0, 256, (size[1], size[0], channels), dtype=np.uint8).squeeze()
    src = tmp_path / "in.png"
    Image.fromarray(pixels, mode if mode != "P" else "L").convert(mode).save(src)
    dst = tmp_path / "out.png"
    # The 150x90 image spans several 64-pixel tiles of the tiny config.
    assert main(["upscale", "--workdir", str(sr_workdir), str(src), str(dst)]) == 0
    with Image.open(dst) as out:
        assert out.size == (size[0] * 2, size[1] * 2)
        assert out.mode == {"RGB": "RGB", "L": "L", "RGBA": "RGBA", "P": "RGB"}[mode]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.png", "out.png"]  # no temp files


def test_tiled_upscale_matches_whole_image_inside(sr_workdir):
    from jresgen.train.loop import load_workdir
    config, task, state, _ = load_workdir(sr_workdir)
    lr = np.random.default_rng(1).uniform(size=(70, 90, 3)).astype(np.float32)
    tiled = task.super_resolve(config, state, lr, tile=32, overlap=8, tile_batch=3)
    whole = task.super_resolve(config, state, lr, tile=128, overlap=19, tile_batch=1)
    # Receptive field of the tiny net is 5 LR pixels < overlap: tiles are exact inside.
    np.testing.assert_allclose(tiled[20:-20, 20:-20], whole[20:-20, 20:-20], atol=1e-5)


@pytest.mark.parametrize("content,match", [(b"not an image", "cannot read"),
                                           (None, "unknown image format")])
def test_upscale_bad_files(capsys, tmp_path, sr_workdir, content, match):
    src = tmp_path / "in.png"
    if content is None:
        Image.new("RGB", (8, 8)).save(src)
        dst = tmp_path / "out.nope"
    else:
        src.write_bytes(content)
        dst = tmp_path / "out.png"
    one_line_error(capsys, ["upscale", "--workdir", str(sr_workdir), str(src), str(dst)], match)
    assert not dst.exists()


def test_console_script_runs_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "jresgen.cli", "eval", "--workdir",
                           str(tmp_path)], capture_output=True, text=True)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_changed_model_on_an_existing_workdir_is_refused(capsys, sr_workdir):
    before = (sr_workdir / "config.json").read_text()
    one_line_error(capsys, ["train", "--config", TINY, "--workdir", str(sr_workdir),
                             "--config.model.features=16"], "does not fit this config")
    assert (sr_workdir / "config.json").read_text() == before


def test_profile_writes_a_trace_of_the_window(capsys, tmp_path):
    """--profile 1:3 traces steps 1 and 2 of the tiny run (4 steps): TensorBoard's xplane file
    and a Perfetto trace under WORKDIR/tensorboard/plugins/profile, and one line saying so."""
    assert main(["train", "--config", TINY, "--workdir", str(tmp_path), "--profile", "1:3"]) == 0
    runs = list((tmp_path / "tensorboard" / "plugins" / "profile").iterdir())
    assert len(runs) == 1, runs
    assert list(runs[0].glob("*.xplane.pb")) and list(runs[0].glob("*perfetto_trace.json.gz"))
    out = capsys.readouterr()
    assert "profile of steps 1:3 written" in out.out + out.err
