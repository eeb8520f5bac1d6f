import numpy as np
import pytest

from mlsiege.attacks.reco import engagement_pod_weerasinghe2020, follow_ring_ferrara2016
from mlsiege.errors import ConfigError
from mlsiege.scenarios.feed_injection import FeedInjectionConfig, run_feed_injection
from mlsiege.sim.feed import FeedConfig, make_population, run_rounds
from mlsiege.targets.recommenders import make_recommender

SMALL = FeedConfig(n_users=500, n_items=400, rounds=4, timeline_k=15)


def test_population_has_structure_and_labels():
    pop = make_population(FeedConfig(n_users=3000, n_items=500), seed=1)
    in_deg = np.asarray(pop.follows.sum(axis=0)).ravel()
    assert in_deg.max() > 10 * np.median(in_deg)  # heavy-tailed
    rows, cols = pop.follows.nonzero()
    assert (pop.community[rows] == pop.community[cols]).mean() > 0.6  # communities
    labels = pop.labels(n_sybils=5)
    assert len(labels) == 3005 and labels["is_sybil"].sum() == 5
    assert {"fan", "friends", "loyal"} <= set(labels["group_type"])
    assert np.all(np.diff(pop.item_round) >= 0)
    with pytest.raises(ConfigError):
        FeedConfig(n_users=5)


def test_rounds_are_deterministic_and_timestamped():
    pop = make_population(SMALL, seed=0)
    seen = []
    run_rounds(pop, SMALL, lambda: make_recommender("popularity"), seed=3, on_round=lambda r, t, e, f: seen.append(t.copy()))
    again = []
    log, _ = run_rounds(pop, SMALL, lambda: make_recommender("popularity"), seed=3, on_round=lambda r, t, e, f: again.append(t.copy()))
    assert all(np.array_equal(a, b) for a, b in zip(seen, again, strict=True))
    stamps = log.timestamps(pop.n_users)
    assert stamps.nnz == log.matrix(pop.n_users).nnz and stamps.data.max() > 0


LOOP = FeedConfig(n_users=800, n_items=640, rounds=4, timeline_k=15)


@pytest.fixture(scope="module")
def social_runs():
    run = lambda recipe: run_feed_injection(  # noqa: E731
        LOOP, recipe, lambda: make_recommender("social"), config=FeedInjectionConfig(sybil_fraction=0.02), seed=1
    )
    return {"ring": run(follow_ring_ferrara2016), "pod": run(engagement_pod_weerasinghe2020)}


@pytest.mark.parametrize("name", ["ring", "pod"])
def test_feedback_loop_amplifies_social_proof_attacks(social_runs, name):
    # the same sybil budget every round: after R rounds the targets reach more of the audience,
    # and are shown to a larger share of those not yet engaged, than after one round
    rounds = social_runs[name]["rounds"]
    first, last = rounds[0], rounds[-1]
    assert last["exposure_attacked"] > first["exposure_attacked"]
    assert last["reach_attacked"] > first["reach_attacked"]
    assert last["real_target_engagements_attacked"] > first["real_target_engagements_attacked"]
    assert last["exposure_attacked"] > last["exposure_clean"]
    assert set(social_runs[name]["summary"]) >= {"rounds_until_reach", "amplification_final", "ndcg_clean_final"}
