"""Reco defenses on small synthetic platforms with planted campaigns."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.checks.reco_defense import planted_platform
from mlsiege.defenses.reco import (
    coordination_scorer,
    fraudar_hooi2016,
    lockstep_beutel2013,
    sybilrank_cao2012,
)
from mlsiege.defenses.reco.engagement import as_engagements, from_frame
from mlsiege.defenses.reco.flagging import fpr_threshold, rethreshold
from mlsiege.defenses.reco.fraudar import peel_densest
from mlsiege.defenses.reco.ranking import (
    cap_cohort_influence,
    item_knn_topk,
    trust_weighted,
    without_accounts,
)
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.metrics.reco_detection import detection_scores


@pytest.fixture(scope="module")
def attacked():
    return planted_platform(600, 240, sybil_fraction=0.02, targets=2, mimicry=True, seed=3)


@pytest.fixture(scope="module")
def clean():
    return planted_platform(600, 240, seed=103)


def test_coordination_scorer_finds_mimicry_campaign_with_budgeted_threshold(attacked, clean):
    ref = coordination_scorer(clean.interactions, timestamps=clean.timestamps)
    threshold = fpr_threshold(ref.scores, 0.005)
    res = coordination_scorer(attacked.interactions, timestamps=attacked.timestamps, threshold=threshold)
    s = detection_scores(res.flagged, attacked.is_sybil, attacked.benign_group)
    assert s["recall"] >= 0.9 and s["precision"] >= 0.8, s
    assert s["fpr"] <= 0.005 and s["fpr_benign_groups"] == 0.0, s
    assert set(res.groups) == {int(a) for a in np.flatnonzero(res.flagged)}


def test_lockstep_flags_campaign_and_benign_groups_alike(attacked):
    res = lockstep_beutel2013(attacked.interactions, timestamps=attacked.timestamps)
    assert res.flagged[attacked.is_sybil].all()
    # fans are synchronized too: lockstep finds coordination, not intent
    assert res.flagged[attacked.benign_group >= 0].mean() > 0.5


def test_fraudar_recovers_planted_dense_block():
    rng = np.random.default_rng(0)
    A = sp.random(200, 150, density=0.03, random_state=1, format="lil")
    A[180:, 140:] = 1.0
    A = sp.csr_matrix(A)
    rows, cols, density = peel_densest(A)
    assert set(rows) == set(range(180, 200)) and set(cols) == set(range(140, 150))
    res = fraudar_hooi2016(A, blocks=2, seed=int(rng.integers(10)))
    assert res.flagged[180:].all() and len(res.metrics["blocks"]) == 2


def test_sybilrank_trusts_real_accounts_more(attacked):
    res = sybilrank_cao2012(attacked.interactions, follows=attacked.follows)
    assert res.scores[attacked.is_sybil].mean() > res.scores[~attacked.is_sybil].mean()
    none = sybilrank_cao2012(attacked.interactions)
    assert not none.flagged.any()


def test_fpr_threshold_respects_budget():
    scores = np.r_[np.zeros(990), np.arange(10.0)]
    t = fpr_threshold(scores, 0.005)
    assert (scores > t).sum() <= 5
    with pytest.raises(ConfigError):
        fpr_threshold(scores, 1.5)


def test_rethreshold_keeps_groups_of_flagged_only(attacked):
    res = coordination_scorer(attacked.interactions, timestamps=attacked.timestamps)
    stricter = rethreshold(res, float(np.sort(res.scores)[-3]))
    assert stricter.flagged.sum() == 2
    assert set(stricter.groups) <= {int(a) for a in np.flatnonzero(stricter.flagged)}


def test_retraining_without_sybils_removes_exposure(attacked):
    real = ~attacked.is_sybil
    aud = attacked.audience
    top_att = item_knn_topk(attacked.interactions, aud, 10)
    top_def = item_knn_topk(without_accounts(attacked.interactions, real), aud, 10)
    hits_att = np.isin(top_att, attacked.targets).any(axis=1).mean()
    hits_def = np.isin(top_def, attacked.targets).any(axis=1).mean()
    assert hits_def <= hits_att


def test_trust_and_cohort_caps_downweight_sybils(attacked):
    _, w = trust_weighted(attacked.interactions, attacked.follows)
    assert w[attacked.is_sybil].mean() < w[~attacked.is_sybil].mean()
    M, cw = cap_cohort_influence(attacked.interactions, attacked.timestamps)
    assert M.shape == attacked.interactions.shape
    assert cw[attacked.is_sybil].mean() < cw[~attacked.is_sybil].mean()


def test_bad_inputs_raise_one_line_errors(attacked):
    with pytest.raises(DataValidationError, match="timestamps"):
        lockstep_beutel2013(attacked.interactions)
    with pytest.raises(DataValidationError, match="sparse"):
        lockstep_beutel2013(np.ones((3, 3)))
    with pytest.raises(DataValidationError, match="no engagements"):
        as_engagements(sp.csr_matrix((4, 3), dtype=np.float32))
    T = attacked.timestamps.copy().tolil()
    T[0, 0] = 5.0 if attacked.interactions[0, 0] == 0 else 0
    with pytest.raises(DataValidationError):
        as_engagements(attacked.interactions, sp.csr_matrix(T))
    with pytest.raises(ConfigError):
        fraudar_hooi2016(attacked.interactions, blocks=0)


def test_from_frame_builds_aligned_matrices():
    import pandas as pd

    frame = pd.DataFrame({"user": [10, 10, 20], "item": [1, 2, 1], "rating": [5, 3, 4], "timestamp": [100, 200, 300]})
    R, T, users, items = from_frame(frame)
    eng = as_engagements(R, T)
    assert R.shape == (2, 2) and list(users) == [10, 20] and eng.time.tolist() == [100.0, 200.0, 300.0]


class _Popular:
    """A tiny recommender double: most engaged unseen items (ties by id)."""

    def fit(self, engaged, follows=None):
        self.engaged = sp.csr_matrix(engaged)
        self.pop = np.asarray(self.engaged.sum(axis=0)).ravel()

    def recommend(self, users, k):
        scores = np.tile(self.pop, (len(users), 1))
        scores[self.engaged[users].toarray() > 0] = -1
        return np.argsort(-scores, axis=1, kind="stable")[:, :k]


def test_feed_hook_reports_exposure_with_and_without_defense(clean):
    from mlsiege.defenses.reco.feed_hook import defended_exposure

    # a push strong enough that the popularity double shows the targets in top 80 lists
    pushed = planted_platform(600, 240, sybil_fraction=0.1, targets=2, mimicry=False, seed=3)
    n_real = int((~pushed.is_sybil).sum())
    audience = np.zeros(n_real, bool)
    audience[pushed.audience] = True
    out = defended_exposure(
        {"coordination": coordination_scorer}, pushed.interactions, pushed.timestamps, follows=pushed.follows,
        n_real=n_real, make_recommender=_Popular, targets=pushed.targets, audience=audience, k=80,
        reference={"interactions": clean.interactions, "timestamps": clean.timestamps}, fpr_budget=0.005,
    )
    d = out["defenses"]["coordination"]
    assert d["flagged_sybil"] >= 0.9 * d["sybils"] and d["flagged_real"] <= 3
    assert out["exposure_undefended"] > 0 and d["exposure_defended"] < out["exposure_undefended"]
