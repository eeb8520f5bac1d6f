"""The rating-aware victim: biased MF reads rating values, so average and random attacks differ."""

import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.attacks.reco import average_attack_lam2004, random_attack_lam2004
from mlsiege.attacks.reco.evaluate import evaluate_static_attack
from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders import BiasedMF, BiasedMFConfig, make_recommender


def _ratings(seed=0, nu=300, ni=200, n=8000, f=4):
    """Low-rank ratings with item biases on a 1-5 scale, popularity-skewed observations."""
    rng = np.random.default_rng(seed)
    U, V, bi = rng.normal(size=(nu, f)), rng.normal(size=(ni, f)), rng.normal(0, 0.7, ni)
    p = np.outer(1 / np.arange(1, nu + 1) ** 0.4, 1 / np.arange(1, ni + 1) ** 0.8).ravel()
    u, i = np.divmod(rng.choice(nu * ni, n, replace=False, p=p / p.sum()), ni)
    r = np.clip(np.round(3.2 + bi[i] + 0.5 * (U[u] * V[i]).sum(1) + rng.normal(0, 0.5, u.size)), 1, 5)
    return sp.csr_matrix((r, (u, i)), shape=(nu, ni))


def test_biased_mf_fits_the_ratings_it_saw():
    R = _ratings()
    model = BiasedMF(BiasedMFConfig(factors=8, iterations=8)).fit(R)
    u, i = R.nonzero()
    pred = model.predict(np.arange(R.shape[0]))[u, i]
    rmse = float(np.sqrt(np.mean((pred - R.data) ** 2)))
    baseline = float(np.sqrt(np.mean((R.data - R.data.mean()) ** 2)))
    assert rmse < 0.7 * baseline
    recs = model.recommend(np.arange(5), 10)
    assert recs.shape == (5, 10) and not any(R[u_, recs[u_]].nnz for u_ in range(5))  # unseen items only


def test_average_and_random_attacks_differ_on_biased_mf_not_on_item_knn():
    R = _ratings()
    hr = {}
    for rec in ("biased-mf", "item-knn"):
        for name, recipe in (("random", random_attack_lam2004), ("average", average_attack_lam2004)):
            out = evaluate_static_attack(recipe, lambda rec=rec: make_recommender(rec), R, sybil_fraction=0.03, n_targets=5, seed=0)
            hr[rec, name] = out["hr_at_10_attacked"] - out["hr_at_10_clean"]
    assert hr["item-knn", "random"] == hr["item-knn", "average"]  # a binarizing victim cannot tell them apart
    # item means as fillers fit the item biases the victim learns; global-mean fillers do not
    assert hr["biased-mf", "average"] > hr["biased-mf", "random"]
    assert hr["biased-mf", "average"] != hr["item-knn", "average"]


def test_config_is_validated():
    with pytest.raises(ConfigError):
        BiasedMFConfig(factors=0)
