"""How far a VAE's prior is from its aggregate posterior, measured by samples: fits Gaussian
mixtures (scikit-learn) to posterior samples of every training digit after training and scores
450 decoded samples of each with the work directory's FID/KID scorer (README "Generative
evaluation"). Analysis only: jresgen's VAE samples from its own (trained) prior.

    python scripts/vae_expost_prior.py runs/vae_digits
"""
import sys

import jax.numpy as jnp
import numpy as np
from sklearn.mixture import GaussianMixture

from jresgen import data as datasets
from jresgen.models import vae as vae_models
from jresgen.tasks import vae as task
from jresgen.train.loop import load_workdir
from jresgen.train.scoring import make_scorer


def main(workdir):
    config, _, state, _ = load_workdir(workdir)
    scorer = make_scorer(config)
    model, variables = task.build_model(config), task._variables(state)
    train = datasets.build(config)[0].all_images()
    mean, logvar = (np.asarray(a) for a in model.apply(variables, jnp.asarray(train),
                                                       method=vae_models.VAE.encode))
    rng = np.random.default_rng(0)
    z = np.concatenate([mean + np.exp(logvar / 2) * rng.normal(size=mean.shape)
                        for _ in range(10)])
    print(f"posterior: median sigma {np.median(np.exp(logvar / 2)):.3f}, "
          f"mean |mean| {np.linalg.norm(mean, axis=1).mean():.2f}")
    for k, cov in [(10, "full"), (50, "full"), (200, "diag")]:
        gmm = GaussianMixture(k, covariance_type=cov, random_state=0, reg_covar=1e-4).fit(z)
        samples = task._decode_mean(model, variables, jnp.asarray(gmm.sample(450)[0],
                                                                  jnp.float32))
        r = scorer.score(np.asarray(samples))
        print(f"{k} {cov}: FID {r['fid']:.1f} (floor {r['fid_floor']:.1f}) KID {r['kid']:.1f} "
              f"classes {r['class_histogram']}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1])
