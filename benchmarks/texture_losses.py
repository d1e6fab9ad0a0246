"""Can a texture loss tell a texture from the exemplar it imitates? Gram distances, per random
feature layer, of 128x128 crops to the whole exemplar's Gram matrices: crops of the exemplar
itself (what the loss should accept) against crops of given textures (say, a net's samples),
with each feature pooling (jresgen/models/features.py: features.pooling).

    python -m benchmarks.texture_losses TEXTURE.png [...] [--exemplar brick] [--scale 0.5]

A loss that rates a failed texture nearer than real crops of the exemplar cannot train a net
away from it. The figures behind configs/texture_net_brick.py's `features.pooling`.
"""
import argparse

import numpy as np

CROP = 128
CROPS = 8  # random crops per image


def _crops(image, rng):
    h, w = image.shape[:2]
    rows = rng.integers(0, h - CROP + 1, CROPS)
    cols = rng.integers(0, w - CROP + 1, CROPS)
    return np.stack([image[r:r + CROP, c:c + CROP] for r, c in zip(rows, cols)])


def layer_distances(extractor, exemplar, images):
    """[per layer: mean over `images` of ||G - T||^2 / ||T||^2], T the whole exemplar's Grams:
    the relative terms the texture losses sum (jresgen.metrics.gram.gram_errors)."""
    import jax
    import jax.numpy as jnp

    from jresgen.metrics.gram import gram_errors, gram_matrix, inverse_norm_weights
    from jresgen.texture.synthesis import exemplar_grams
    targets = exemplar_grams(extractor, exemplar)
    grams = jax.jit(lambda p, x: [gram_matrix(f) for f in extractor.apply(p, x)])(
        extractor.params, jnp.asarray(images))
    return [float(e) for e in gram_errors(grams, targets, inverse_norm_weights(targets))]


def main(argv=None):
    p = argparse.ArgumentParser(prog="python -m benchmarks.texture_losses")
    p.add_argument("textures", nargs="+", help="texture images (grayscale or RGB)")
    p.add_argument("--exemplar", default="brick", help="a built-in name or an image file")
    p.add_argument("--scale", type=float, default=0.5,
                   help="the exemplar resized by this first (the textures' scale)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    from jresgen.data.exemplars import load_exemplar
    from jresgen.data.image_io import read_image
    from jresgen.errors import UserError
    from jresgen.models.features import POOLINGS, build_feature_extractor, default_features_config
    try:
        exemplar, _ = load_exemplar(args.exemplar, args.scale)
        textures = [read_image(path)[0] for path in args.textures]  # RGB, grey as 3 equal
    except UserError as e:
        p.error(str(e))
    for path, t in zip(args.textures, textures):
        if min(t.shape[:2]) < CROP:
            p.error(f"{path} is smaller than the {CROP}-pixel crops")
    for pooling in POOLINGS:
        cfg = default_features_config()
        cfg.pooling = pooling
        extractor = build_feature_extractor(cfg)
        print(f"features.pooling={pooling}: Gram distance per layer "
              f"({', '.join(extractor.layer_names)}), then their mean")
        rng = np.random.default_rng(args.seed)
        rows = [("exemplar crops", _crops(exemplar, rng))]
        rows += [(path, _crops(t, rng)) for path, t in zip(args.textures, textures)]
        for name, crops in rows:
            d = layer_distances(extractor, exemplar, crops.astype(np.float32))
            print(f"  {name:40s} " + " ".join(f"{v:.3f}" for v in d) + f"  mean {np.mean(d):.4f}")


if __name__ == "__main__":
    main()
