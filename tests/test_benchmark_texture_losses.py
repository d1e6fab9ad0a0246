"""benchmarks.texture_losses: per-layer Gram distances of exemplar crops and of given textures,
for each feature pooling; bad input is one argparse line."""
import numpy as np
import pytest
from PIL import Image

from benchmarks import texture_losses


def test_prints_both_poolings_for_exemplar_crops_and_textures(tmp_path, capsys):
    path = tmp_path / "t.png"
    rng = np.random.default_rng(0)
    Image.fromarray(rng.integers(0, 256, (130, 140), dtype=np.uint8)).save(path)
    texture_losses.main([str(path), "--scale", "0.3"])  # brick at 154 pixels: fast
    out = capsys.readouterr().out
    assert "features.pooling=average" in out and "features.pooling=extremes" in out
    rows = [line for line in out.splitlines() if line.startswith("  ")]
    assert len(rows) == 4 and sum("exemplar crops" in r for r in rows) == 2
    means = [float(r.rsplit("mean", 1)[1]) for r in rows]
    assert means[1] > means[0] and means[3] > means[2]  # noise is farther than real crops


def test_bad_inputs_are_one_line(tmp_path, capsys):
    small = tmp_path / "small.png"
    Image.fromarray(np.zeros((40, 40), np.uint8)).save(small)
    for argv in ([str(tmp_path / "missing.png")], [str(small)]):
        with pytest.raises(SystemExit) as e:
            texture_losses.main(argv)
        assert e.value.code == 2
        assert "error:" in capsys.readouterr().err
