"""Sweeps (jresgen/train/sweep.py): K variants in one vmapped program are K single runs.

Each equivalence compares a variant's parameters and losses with a single run of that value,
under both strategies and on two devices (variants x devices); the CLI tests train, resume,
evaluate and export a sweep as a user would.
"""
import functools
import json

import jax
import numpy as np
import pytest

from conftest import CONFIGS, tiny_sr_config
from jresgen import cli
from jresgen import data as datasets
from jresgen.config import apply_overrides, load_config
from jresgen.tasks import get_task
from jresgen.train import sweep as sweeps
from jresgen.train.loop import load_run
from jresgen.train.parallel import make_strategy
from jresgen.train.runs import initial_state

TINY = f"{CONFIGS / 'sr_x2.py'}:tiny"
STEPS = 3


def _swept(config, *items):
    sweeps.add_sweep_args(config, items)
    sweeps.validate_sweep(config)
    return config


def _train_sweep(config, strategy, steps):
    """(variant states on one device, [steps, K] losses) of `steps` sweep steps."""
    task = get_task(config.task)
    sweep = sweeps.Sweep(config, task)
    own = sweep.configs if sweep.batch_axis is not None else sweep.configs[:1]
    sources = [datasets.build(c)[0] for c in own]
    example = sources[0].batch(0)
    dstate = strategy.init(sweep.init_fn(example, initial_state), *sweep.init_args())
    step = strategy.compile(sweep.step_fn(example, initial_state, strategy.axis_name))
    losses = []
    for i in range(steps):
        dstate, metrics = step(dstate, strategy.shard(sweep.batches(sources, i)))
        losses.append(strategy.first_replica(metrics)["loss"])
    local = strategy.local_state(dstate)
    return sweep, local, np.stack(losses)


def _train_single(config, strategy, steps):
    task = get_task(config.task)
    source = datasets.build(config)[0]
    dstate = strategy.init(lambda rng: initial_state(config, task, source.batch(0), rng),
                           jax.random.PRNGKey(config.seed))
    step = strategy.compile(functools.partial(task.train_step, config=config,
                                              axis_name=strategy.axis_name))
    losses = []
    for i in range(steps):
        dstate, metrics = step(dstate, strategy.shard(source.batch(i)))
        losses.append(strategy.metrics_to_host(metrics)["loss"])
    return strategy.local_state(dstate), np.array(losses)


@pytest.mark.parametrize("strategy_name", ["pmap", "jit"])
def test_each_variant_equals_its_single_run(strategy_name):
    # A learning rate (enters the optimizer as data) times a seed (each variant its own
    # initialisation and batches), on two devices: variants x data parallelism.
    strategy = make_strategy(strategy_name, jax.local_devices()[:2])
    config = _swept(tiny_sr_config(**{"optimizer__schedule": "constant"}),
                    "learning_rate=1e-3,2e-4", "seed=0,5")
    sweep, local, losses = _train_sweep(config, strategy, STEPS)
    assert losses.shape == (STEPS, 4)
    for k in (0, 3):  # (1e-3, seed 0) and (2e-4, seed 5): differ in both keys
        single, single_losses = _train_single(sweep.configs[k], strategy, STEPS)
        variant = jax.tree.map(lambda x: x[k], local.variants)
        np.testing.assert_allclose(losses[:, k], single_losses, rtol=1e-5)
        for a, b in zip(jax.tree.leaves(variant.params), jax.tree.leaves(single.params)):
            np.testing.assert_allclose(np.asarray(a), np.asarray(b), atol=1e-6)
    # The values really differ between variants (a sweep that ignored them would pass above
    # only if the single runs ignored them too).
    assert not np.allclose(losses[-1, 0], losses[-1, 2])


def test_vmapped_and_grouped_variants_agree():
    config = _swept(tiny_sr_config(), "learning_rate=1e-3,2e-4,5e-5")
    strategy = make_strategy("jit", jax.local_devices()[:1])
    _, _, grouped = _train_sweep(config, strategy, 2)  # default on the CPU: one at a time
    apply_overrides(config, ["sweep_vmap_size=3"])
    sweep, _, vmapped = _train_sweep(config, strategy, 2)
    assert sweep.vmap_size == 3
    np.testing.assert_allclose(vmapped, grouped, rtol=1e-4)


def test_a_diverging_variant_stops_alone():
    config = _swept(tiny_sr_config(**{"optimizer__schedule": "constant"}),
                    "learning_rate=1e-3,1e38")
    strategy = make_strategy("jit", jax.local_devices()[:1])
    sweep, local, losses = _train_sweep(config, strategy, 4)
    assert np.isfinite(losses[:, 0]).all()
    assert np.isnan(losses[-1, 1])
    stopped_at = np.asarray(local.stopped_at)
    assert stopped_at[0] == 0 and 1 <= stopped_at[1] <= 4
    # the stopped variant keeps its last finite state
    leaves = jax.tree.leaves(jax.tree.map(lambda x: x[1], local.variants.params))
    assert all(np.isfinite(np.asarray(x)).all() for x in leaves)


@pytest.mark.parametrize("config_name", [
    "sr_x2.py", "classifier_digits.py", "vae_digits.py", "sngan_digits.py",
    "texture_net_brick.py", "style_transfer.py", "separation_net.py"])
def test_every_family_sweeps_its_learning_rate_and_seed(config_name):
    config = load_config(f"{CONFIGS / config_name}:tiny", ["evaluation.classifier_workdir="]
                         if "sngan" in config_name or "vae" in config_name else [])
    _swept(config, "learning_rate=1e-3,1e-4", "seed=0,1")
    sweep = sweeps.Sweep(config, get_task(config.task))
    example = datasets.build(sweep.configs[0])[0].batch(0)
    sweep.check_traceable(example, initial_state)  # raises a UserError if not


def _cli(capsys, *argv):
    code = cli.main([str(a) for a in argv])
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    return code, out, err


def test_sweep_trains_resumes_evaluates_and_exports(tmp_path, capsys):
    sweep_args = ["--sweep", "learning_rate=1e-3,2e-4", "--sweep", "seed=0,1"]
    constant = "--config.optimizer.schedule=constant"
    straight, resumed = tmp_path / "straight", tmp_path / "resumed"
    assert _cli(capsys, "train", "--config", TINY, "--workdir", straight, constant,
                *sweep_args)[0] == 0
    assert _cli(capsys, "train", "--config", TINY, "--workdir", resumed, constant,
                "--config.total_steps=2", *sweep_args)[0] == 0
    assert _cli(capsys, "train", "--workdir", resumed, "--config.total_steps=4")[0] == 0
    _, a = load_run(straight, with_eval_data=False)
    _, b = load_run(resumed, with_eval_data=False)
    assert int(a.step) == int(b.step) == 4
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))

    variants = json.loads((straight / "variants.json").read_text())
    assert [v["sweep"] for v in variants] == [
        {"learning_rate": 1e-3, "seed": 0}, {"learning_rate": 1e-3, "seed": 1},
        {"learning_rate": 2e-4, "seed": 0}, {"learning_rate": 2e-4, "seed": 1}]
    for k in range(4):  # each variant its own metrics stream
        records = [json.loads(x) for x in
                   (straight / "variants" / str(k) / "metrics.jsonl").read_text().splitlines()]
        assert [r["step"] for r in records] == [1, 2, 3, 4]
        assert "val_psnr_y" in records[-1]

    code, out, _ = _cli(capsys, "eval", "--workdir", straight, "--json")
    summary = json.loads(out)
    assert code == 0 and summary["step"] == 4
    assert [v["sweep"] for v in summary["variants"]] == [v["sweep"] for v in variants]
    psnr = [v["mean"]["model"]["psnr_y"] for v in summary["variants"]]
    assert len(set(psnr)) == 4

    # single-run verbs point to export
    from PIL import Image
    image = tmp_path / "in.png"
    Image.fromarray(np.zeros((24, 24, 3), np.uint8)).save(image)
    code, _, err = _cli(capsys, "upscale", "--workdir", straight, image, tmp_path / "out.png")
    assert code == 2 and "holds a sweep; export one variant first: jresgen export" in err

    exported = tmp_path / "exported"
    code, out, _ = _cli(capsys, "export", "--workdir", straight, "--variant", 3,
                        "--out", exported)
    assert code == 0 and "variant 3" in out
    code, out, _ = _cli(capsys, "eval", "--workdir", exported, "--json")
    single = json.loads(out)
    assert single["step"] == 4 and single["mean"] == summary["variants"][3]["mean"]
    config = json.loads((exported / "config.json").read_text())
    assert "sweep" not in config and config["learning_rate"] == 2e-4 and config["seed"] == 1
    # ... and it trains on as a single run
    assert _cli(capsys, "train", "--workdir", exported, "--config.total_steps=5")[0] == 0
    assert (exported / "metrics.jsonl").read_text().count('"step"') == 5


@pytest.mark.parametrize("argv, message", [
    (["--sweep", "model.num_blocks=1,2"], "cannot sweep model.num_blocks: the program uses"),
    (["--sweep", "data.patch_size=8,12"], "batches of different shapes"),
    (["--sweep", "total_steps=2,3"], "cannot sweep total_steps: the training loop"),
    (["--sweep", "model.loss=l1,l2"], "only numbers can be swept"),
    (["--sweep", "nope=1,2"], "cannot sweep nope: no such config key"),
    (["--sweep", "learning_rate"], "is not of the form KEY=v1,v2"),
    (["--sweep", "learning_rate=1e-3,x"], "expects a float, got 'x'"),
])
def test_bad_sweeps_are_one_line_and_write_nothing(tmp_path, capsys, argv, message):
    workdir = tmp_path / "run"
    code, _, err = _cli(capsys, "train", "--config", TINY, "--workdir", workdir, *argv)
    assert code == 2 and message in err and len(err.strip().splitlines()) == 1
    assert not workdir.exists()
