import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.attacks.reco import (
    audience_mimicry_tang2020,
    engagement_pod_weerasinghe2020,
    follow_ring_ferrara2016,
    optimized_injection_fang2018,
    random_attack_lam2004,
)
from mlsiege.attacks.reco.evaluate import cold_targets, evaluate_static_attack, hold_out_latest
from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders import make_recommender


@pytest.fixture(scope="module")
def log():
    rng = np.random.default_rng(5)
    n_users, n_items = 400, 300
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    act = 1.0 / np.arange(1, n_users + 1) ** 0.5
    p = np.outer(act, pop)
    p = p / p.sum() * 12_000
    m = sp.csr_matrix((rng.random((n_users, n_items)) < p).astype(np.float32) * rng.integers(1, 6, (n_users, n_items)))
    m.eliminate_zeros()
    return m


def test_budget_and_targets(log):
    r = random_attack_lam2004(log, targets=[1, 2], n_sybils=5, engagements_per_sybil=9, seed=0)
    rows = r.artifacts["sybil_interactions"]
    assert rows.shape == (5, log.shape[1]) and np.diff(rows.indptr).max() <= 9
    assert (rows[:, [1, 2]].toarray() > 0).all()
    with pytest.raises(ConfigError, match="exceed the budget"):
        random_attack_lam2004(log, targets=[1, 2, 3], n_sybils=2, engagements_per_sybil=2)
    with pytest.raises(ConfigError, match="n_sybils"):
        random_attack_lam2004(log, targets=[1], n_sybils=0)


def test_social_attacks_add_sybil_follows(log):
    ring = follow_ring_ferrara2016(log, targets=[3], n_sybils=4, engagements_per_sybil=6, seed=1)
    pod = engagement_pod_weerasinghe2020(log, targets=[3], n_sybils=4, engagements_per_sybil=6, seed=1)
    n = log.shape[0]
    for res in (ring, pod):
        edges = res.artifacts["follows"]
        assert (edges[:, 0] >= n).all()
    inner = lambda e: int(((e[:, 0] >= n) & (e[:, 1] >= n)).sum())  # noqa: E731
    assert inner(ring.artifacts["follows"]) == 4 and inner(pod.artifacts["follows"]) == 12


def test_mimicry_copies_audience_profiles(log):
    audience = np.zeros(log.shape[0], bool)
    audience[:50] = True
    res = audience_mimicry_tang2020(log, targets=[299], n_sybils=6, engagements_per_sybil=11, audience=audience, seed=0)
    fillers = res.artifacts["sybil_interactions"][:, :299]
    held_by_audience = np.asarray((log[:50] > 0).sum(axis=0)).ravel()[:299] > 0
    assert held_by_audience[fillers.nonzero()[1]].all()


def test_hold_out_and_cold_targets(log):
    train, held = hold_out_latest(log, None)
    assert train.nnz + held.nnz == log.nnz and held.nnz == int((np.diff(log.indptr) >= 2).sum())
    t = cold_targets(train, 5, 0)
    counts = np.diff(train.tocsc().indptr)
    assert t.size == 5 and counts[t].max() <= np.quantile(counts, 0.25) + 1


def test_optimized_beats_random_against_item_knn(log):
    run = lambda recipe: evaluate_static_attack(  # noqa: E731
        recipe, lambda: make_recommender("item-knn"), log, sybil_fraction=0.03, n_targets=3, seed=0
    )
    rnd, opt = run(random_attack_lam2004), run(optimized_injection_fang2018)
    for key in ("hr_at_10_clean", "hr_at_10_attacked", "ndcg_at_10_clean", "ndcg_at_10_attacked", "seconds"):
        assert key in rnd
    assert opt["hr_at_10_attacked"] > opt["hr_at_10_clean"]
    assert opt["hr_at_10_attacked"] >= 2 * rnd["hr_at_10_attacked"]


def test_optimized_sizes_profiles_against_a_factor_surrogate(log):
    from mlsiege.attacks.reco.optimized import OptimizedConfig

    config = OptimizedConfig(profile_sizes=(2, 8), refine_steps=0)
    run = lambda seed, config=config: optimized_injection_fang2018(  # noqa: E731
        log, targets=[297, 298], n_sybils=8, engagements_per_sybil=20, recommender="als", seed=seed, config=config
    )
    first, again = run(3), run(3)
    tried = first.metrics["designs_tried"]
    assert first.metrics["surrogate"] == "als" and set(tried) == {"favourites-2", "favourites-8", "favourites-18"}
    # the rows are the shortest design within the tie tolerance of the surrogate's best
    by_size = sorted(tried, key=lambda name: int(name.split("-")[1]))
    best = next(name for name in by_size if tried[name] >= (1 - config.tie_tolerance) * max(tried.values()))
    assert first.metrics["design"] == best
    per_row = np.diff(first.artifacts["sybil_interactions"].indptr)
    assert (per_row == 2 + int(best.split("-")[1])).all()
    assert (first.artifacts["sybil_interactions"] != again.artifacts["sybil_interactions"]).nnz == 0
    # refinement keeps a move only when the surrogate's hit ratio rises, and the rows follow it
    refine = lambda seed: optimized_injection_fang2018(  # noqa: E731
        log, targets=[297, 298], n_sybils=40, engagements_per_sybil=20, recommender="als", seed=seed,
        config=OptimizedConfig(profile_sizes=(2, 8), refine_steps=6),
    )
    refined = refine(4)
    ranked = refined.metrics["designs_tried"][refined.metrics["design"]]
    assert refined.metrics["refine_accepted"] >= 1 and refined.metrics["surrogate_hr"] > ranked
    rows = refined.artifacts["sybil_interactions"]
    assert all(set(rows[i].indices) == {297, 298, *refined.metrics["fillers"]} for i in range(rows.shape[0]))
    assert (refine(4).artifacts["sybil_interactions"] != rows).nnz == 0
    # against BPR the plans differ in how many accounts engage; idle accounts keep empty rows
    bpr_victim = optimized_injection_fang2018(log, targets=[297], n_sybils=6, engagements_per_sybil=10, recommender="bpr")
    plans = bpr_victim.metrics["designs_tried"]
    assert bpr_victim.metrics["surrogate"] == "bpr" and set(plans) == {
        "active-2-favourites-0", "active-4-favourites-0", "active-6-favourites-0", "active-6-favourites-5"}
    per_row = np.diff(bpr_victim.artifacts["sybil_interactions"].indptr)
    assert bpr_victim.artifacts["sybil_interactions"].shape[0] == 6
    assert (per_row > 0).sum() == bpr_victim.metrics["active_sybils"]
    knn = optimized_injection_fang2018(log, targets=[297], n_sybils=4, engagements_per_sybil=10, recommender="item-knn")
    assert knn.metrics["surrogate"] == "item-knn" and "surrogate_reached_users" in knn.metrics
    with pytest.raises(ConfigError, match="surrogate"):
        OptimizedConfig(surrogate="svd")
    with pytest.raises(ConfigError, match="tie_tolerance"):
        OptimizedConfig(tie_tolerance=1.0)
    with pytest.raises(ConfigError, match="refine_steps"):
        OptimizedConfig(refine_steps=-1)


def test_bpr_is_reproducible_from_its_seed(log):
    fit = lambda: make_recommender("bpr", seed=4).fit(log)  # noqa: E731
    assert np.array_equal(fit().item_factors_, fit().item_factors_)
