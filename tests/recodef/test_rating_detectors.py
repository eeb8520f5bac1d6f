"""Explicit-rating detectors, calibration and the default ensemble on small labelled logs."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.defenses.reco import rdma_chirita2005, shilling_pca_mehta2007, target_groups_zhou2016
from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.ensemble import plan, run_ensemble
from mlsiege.defenses.reco.flagging import (
    cap_flags,
    empirical_null_pvalues,
    robust_z,
    screen_accounts,
    significant,
)
from mlsiege.defenses.reco.rating_stats import FEATURES, profile_statistics
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.metrics.reco_detection import detection_scores


def rating_log(seed: int, n_users: int = 600, n_items: int = 400, attackers: int = 0, kind: str = "average", filler: int = 12):
    """Real users pick items by popularity and taste; attackers push one mid item with uniform fillers."""
    rng = np.random.default_rng(seed)
    pop = 1.0 / np.arange(1, n_items + 1) ** 0.9
    rng.shuffle(pop)
    taste_u, taste_i = rng.normal(0, 0.6, (n_users, 4)), rng.normal(0, 0.6, (n_items, 4))
    bias_u, bias_i = rng.normal(0, 0.4, n_users), rng.normal(0, 0.4, n_items)
    rows, cols, vals = [], [], []
    for u in range(n_users):
        n = int(np.clip(rng.lognormal(np.log(30), 0.7), 15, n_items // 3))
        w = pop * np.exp(taste_i @ taste_u[u])
        items = rng.choice(n_items, n, replace=False, p=w / w.sum())
        r = np.clip(np.rint(3.5 + bias_u[u] + bias_i[items] + taste_i[items] @ taste_u[u] + rng.normal(0, 0.7, n)), 1, 5)
        rows += [u] * n
        cols += items.tolist()
        vals += r.tolist()
    R = sp.csr_matrix((vals, (rows, cols)), shape=(n_users, n_items))
    counts = np.diff(R.tocsc().indptr)
    means = np.asarray(R.sum(axis=0)).ravel() / np.maximum(counts, 1)
    target = int(np.flatnonzero((counts >= 5) & (counts <= 30))[0])
    popular = np.argsort(-counts)[:8]
    for a in range(attackers):
        f = rng.choice(np.setdiff1d(np.arange(n_items), [target, *popular]), filler, replace=False)
        fr = np.clip(np.rint(rng.normal(means[f], 1.0) if kind == "average" else rng.normal(3.5, 1.1, filler)), 1, 5)
        items, ratings = [target, *f], [5.0, *fr]
        if kind == "bandwagon":
            items += popular.tolist()
            ratings += [5.0] * len(popular)
        rows += [n_users + a] * len(items)
        cols += items
        vals += ratings
    R = sp.csr_matrix((vals, (rows, cols)), shape=(n_users + attackers, n_items))
    return R, np.r_[np.zeros(n_users, bool), np.ones(attackers, bool)], target


@pytest.mark.parametrize("kind", ["average", "random", "bandwagon"])
def test_target_groups_catch_a_campaign_and_name_its_target(kind):
    R, y, target = rating_log(1, attackers=50, kind=kind, filler=20)
    res = target_groups_zhou2016(R)
    s = detection_scores(res.flagged, y)
    assert s["recall"] >= 0.9 and s["precision"] >= 0.85, s
    found = res.metrics["targets"][0]["item"]
    # a bandwagon campaign may be explained by one of the popular items it also rates at 5
    assert found == target or kind == "bandwagon"
    assert all(res.groups[int(a)] == found for a in np.flatnonzero(res.flagged & y))


def test_attack_free_log_gets_almost_no_flags():
    R, _, _ = rating_log(2)
    assert target_groups_zhou2016(R).flagged.sum() == 0
    assert run_ensemble(R).flagged.sum() <= 1


def test_a_ten_percent_campaign_is_not_capped():
    R, y, _ = rating_log(3, attackers=60)  # 10% of 600
    res = screen_accounts({"tg": target_groups_zhou2016}, R)["tg"]
    assert detection_scores(res.flagged, y)["recall"] >= 0.9


def test_profile_statistics_match_their_definitions():
    R = sp.csr_matrix(np.array([[5, 1, 0], [4, 0, 2], [5, 2, 2]], dtype=float))
    eng = as_engagements(R)
    st = profile_statistics(eng, k=1)
    assert set(st) == set(FEATURES)
    # item means 14/3, 1.5, 2; counts 3, 2, 2: user 0 deviates |5-14/3|/3 and |1-1.5|/2
    assert st["rdma"][0] == pytest.approx(((1 / 3) / 3 + 0.5 / 2) / 2)
    assert st["wda"][0] == pytest.approx((1 / 3) / 3 + 0.5 / 2)
    assert st["fmtd"][0] == pytest.approx(4.0)  # max-rated item 5 vs filler 1
    assert st["popularity"][1] == pytest.approx((np.log(3) + np.log(2)) / 2)


def test_heavy_real_raters_are_not_flagged_by_rdma():
    R, _, _ = rating_log(4)
    heavy = np.argsort(-np.diff(R.indptr))[:20]
    assert not rdma_chirita2005(R).flagged[heavy].any()


def test_pca_flags_significant_or_a_fixed_share():
    R, y, _ = rating_log(5, attackers=30)
    assert shilling_pca_mehta2007(R, flag_fraction=0.05).flagged.sum() == round(0.05 * R.shape[0])
    assert shilling_pca_mehta2007(R).flagged.sum() < R.shape[0] * 0.05
    with pytest.raises(ConfigError):
        shilling_pca_mehta2007(R, flag_fraction=2.0)


def test_pca_refuses_a_log_without_rating_variation_in_one_line():
    R, _, _ = rating_log(3)
    R = R.copy()
    R.data[:] = 1.0  # an implicit log: each account's values are all alike
    with pytest.raises(DataValidationError, match="implicit"):
        shilling_pca_mehta2007(R)


def test_calibration_helpers():
    rng = np.random.default_rng(0)
    z = robust_z(np.r_[rng.normal(0, 1, 2000), 12.0, 14.0])
    flags = significant(empirical_null_pvalues(z), alpha=0.01)
    assert flags[-2:].all() and flags[:-2].sum() <= 2
    with pytest.raises(ConfigError):
        significant(np.array([0.1]), method="nope")


def test_fpr_cap_keeps_ties_instead_of_dropping_everyone():
    scores = np.r_[np.full(28, 7.0), np.zeros(972)]
    flagged = scores > 0
    capped, info = cap_flags(scores, flagged, budget=0.027)  # 27 allowed, 28 identical fakes
    assert capped.sum() == 28 and info["exceeded_by_ties"] == 1
    capped, _ = cap_flags(np.r_[9.0, scores[:28]], np.ones(29, bool), budget=0.04)
    assert capped.sum() == 1 or capped.sum() == 29


def test_ensemble_plan_says_what_it_skips():
    run, skipped = plan(explicit=False, has_time=True, has_follows=False)
    assert run == ["coordination"] and "implicit" in skipped["target_groups"] and "follow" in skipped["sybilrank"]
