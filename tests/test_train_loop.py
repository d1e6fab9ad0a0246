"""The loop: learning, determinism, checkpoints and resume, the work directory."""
import json
import shutil

import jax
import numpy as np
import pytest

from conftest import losses_on_one_batch, tiny_sr_config
from jresgen.train.checkpoint import Checkpointer
from jresgen.train.loop import abstract_state, load_workdir, train_and_evaluate


def _losses(workdir):
    records = [json.loads(line) for line in (workdir / "metrics.jsonl").read_text().splitlines()]
    return {r["step"]: r["loss"] for r in records}


def _params(workdir):
    _, _, state, _ = load_workdir(workdir)
    return jax.tree.leaves(state.params)


def test_loss_decreases():
    config = tiny_sr_config(learning_rate=0.003, optimizer__schedule="constant",
                            model__image_skip="none")
    losses = losses_on_one_batch(config, 25)
    assert losses[-1] < 0.7 * losses[0]


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("full")
    summary = train_and_evaluate(tiny_sr_config(), workdir)
    return workdir, summary


def test_workdir_layout(uninterrupted):
    workdir, summary = uninterrupted
    assert json.loads((workdir / "config.json").read_text())["task"] == "sr"
    assert (workdir / "samples" / "chelsea.png").exists()
    assert list((workdir / "tensorboard").iterdir())
    assert Checkpointer(workdir / "checkpoints").manager.all_steps() == [2, 4]
    records = [json.loads(x) for x in (workdir / "metrics.jsonl").read_text().splitlines()]
    assert [r["step"] for r in records] == [1, 2, 3, 4]
    assert all("loss" in r for r in records)
    assert "val_psnr_y" in records[-1]
    assert set(summary["mean"]) == {"model", "bicubic"}


def test_resume_equals_no_interruption(uninterrupted, tmp_path):
    # A run killed between its step-2 and step-4 checkpoints leaves this work directory.
    full_dir, _ = uninterrupted
    workdir = tmp_path / "killed"
    shutil.copytree(full_dir, workdir)
    shutil.rmtree(workdir / "checkpoints" / "4")
    train_and_evaluate(tiny_sr_config(), workdir)  # resumes from step 2
    assert _losses(workdir) == _losses(full_dir)
    for a, b in zip(_params(workdir), _params(full_dir)):
        np.testing.assert_array_equal(a, b)


def test_same_seed_same_result(uninterrupted, tmp_path):
    full_dir, _ = uninterrupted
    train_and_evaluate(tiny_sr_config(), tmp_path)
    assert _losses(tmp_path) == _losses(full_dir)


def test_nan_stops_the_run_and_keeps_the_last_good_checkpoint(tmp_path):
    train_and_evaluate(tiny_sr_config(total_steps=2), tmp_path)
    with pytest.raises(FloatingPointError, match="not finite"):
        train_and_evaluate(tiny_sr_config(learning_rate=1e30, optimizer__schedule="constant"),
                           tmp_path)
    assert Checkpointer(tmp_path / "checkpoints").latest_step() == 2


def test_restore_against_abstract_state(uninterrupted):
    workdir, _ = uninterrupted
    config, task, state, eval_data = load_workdir(workdir)
    assert int(state.step) == 4
    shapes = jax.tree.map(lambda x: x.shape, abstract_state(config, task, {"lr": np.zeros(
        (1, 16, 16, 3), np.float32)}).params)
    assert jax.tree.map(lambda x: x.shape, state.params) == shapes
