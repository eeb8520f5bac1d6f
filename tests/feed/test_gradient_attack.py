"""The gradient profile-optimization attack (Li et al. 2016) on a tiny factor-model problem."""

import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.attacks.reco import gradient_mf_li2016, random_attack_lam2004
from mlsiege.attacks.reco.evaluate import evaluate_static_attack
from mlsiege.attacks.reco.gradient import GradientConfig, unrolled_loss_and_grad
from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders import make_recommender

FAST = {"steps": 15, "sweeps": 2}


@pytest.fixture(scope="module")
def topics():
    """300 users and 200 items in 3 topics; the audience is topic 0, the targets 4 cold topic-0 items."""
    rng = np.random.default_rng(3)
    n_users, n_items = 300, 200
    user_topic = rng.integers(0, 3, n_users)
    item_topic = np.arange(n_items) % 3
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.7
    p = np.where(user_topic[:, None] == item_topic[None, :], 0.5, 0.05) * pop[None, :] * 6
    m = sp.csr_matrix((rng.random((n_users, n_items)) < np.minimum(p, 0.9)).astype(np.float32))
    counts = np.asarray(m.sum(axis=0)).ravel()
    topic0 = np.flatnonzero(item_topic == 0)
    targets = topic0[np.argsort(counts[topic0], kind="stable")[:4]]
    return m, targets, user_topic == 0


def test_engages_every_target_within_budget_and_is_deterministic(topics):
    m, targets, audience = topics
    a = gradient_mf_li2016(m, targets=targets, n_sybils=6, engagements_per_sybil=12, audience=audience, recommender="als", seed=4, config=FAST)
    b = gradient_mf_li2016(m, targets=targets, n_sybils=6, engagements_per_sybil=12, audience=audience, recommender="als", seed=4, config=FAST)
    rows = a.artifacts["sybil_interactions"]
    assert rows.shape == (6, m.shape[1]) and np.diff(rows.indptr).max() <= 12
    assert (rows[:, targets].toarray() > 0).all()
    assert (rows != b.artifacts["sybil_interactions"]).nnz == 0
    assert a.metrics["designs_tried"] == b.metrics["designs_tried"]


def test_gradient_matches_finite_differences():
    rng = np.random.default_rng(0)
    public = sp.csr_matrix((rng.random((40, 25)) < 0.25).astype(float))
    fake, Y0 = rng.random((3, 25)), rng.normal(size=(25, 4))
    users, targets = np.arange(0, 40, 2), np.array([23, 24])
    seen = public[users].toarray() > 0
    loss, grad, _ = unrolled_loss_and_grad(public, fake, Y0, 1.0, 3, users, targets, seen, 0.5, 5)
    for i, j in [(0, 3), (2, 11), (1, 24)]:
        bumped = fake.copy()
        bumped[i, j] += 1e-6
        assert (unrolled_loss_and_grad(public, bumped, Y0, 1.0, 3, users, targets, seen, 0.5, 5)[0] - loss) / 1e-6 == pytest.approx(grad[i, j], rel=1e-3, abs=1e-9)


def test_raises_the_hit_ratio_over_random_injection(topics):
    m, targets, audience = topics
    kwargs = {"targets": targets, "audience": audience, "sybil_fraction": 0.1, "engagements_per_sybil": 12, "seed": 0, "recommender": "als"}

    def run(recipe):
        return evaluate_static_attack(recipe, lambda: make_recommender("als", seed=1), m, **kwargs)["hr_at_10_attacked"]

    grad = run(lambda *a, **k: gradient_mf_li2016(*a, **k, config=FAST))
    rand = run(random_attack_lam2004)
    assert grad > 0.05 and grad > 2 * rand, (grad, rand)


def test_refuses_bad_options(topics):
    m, targets, _ = topics
    with pytest.raises(ConfigError, match="unknown gradient attack option.*valid: steps"):
        gradient_mf_li2016(m, targets=targets, n_sybils=2, config={"stepz": 3})
    with pytest.raises(ConfigError, match="sweeps"):
        GradientConfig(sweeps=0)
