"""measure_mitigation: exposure and utility of the mitigations on one planted case."""

import numpy as np
import pytest

from mlsiege.checks.reco_defense import planted_platform
from mlsiege.defenses.reco.mitigation import MITIGATIONS, holdout_latest, measure_mitigation
from mlsiege.errors import ConfigError, DataValidationError


@pytest.fixture(scope="module")
def platform():
    return planted_platform(400, 160, sybil_fraction=0.04, targets=2, mimicry=True, seed=3)


def _run(p, **kw):
    return measure_mitigation(p.interactions, timestamps=p.timestamps, follows=p.follows, is_sybil=p.is_sybil,
                              targets=p.targets, audience=p.audience, n_util=200, **kw)


def test_removing_the_sybils_brings_exposure_back_to_clean(platform):
    r = _run(platform, flagged=platform.is_sybil)
    assert r.exposure_attacked > r.exposure_clean  # the campaign bought exposure on this case
    assert r.exposure_mitigated == pytest.approx(r.exposure_clean)
    assert r.exposure_reduction > 0 and r.excess_exposure_removed == pytest.approx(1.0)
    assert (r.sybils_flagged, r.real_flagged) == (int(platform.is_sybil.sum()), 0)


def test_none_changes_nothing_and_every_mitigation_reports(platform):
    none = _run(platform, mitigation="none")
    assert none.exposure_mitigated == none.exposure_attacked and none.utility_loss == 0.0
    for m in MITIGATIONS[2:]:
        r = _run(platform, mitigation=m)
        assert 0.0 <= r.exposure_mitigated <= 1.0 and r.users_scored > 0
        assert set(r.as_row()) >= {"exposure_clean", "exposure_attacked", "exposure_mitigated", "exposure_reduction", "utility_loss"}


def test_bad_input_is_named(platform):
    with pytest.raises(ConfigError, match="unknown mitigation"):
        _run(platform, mitigation="magic")
    with pytest.raises(ConfigError, match="detector or a flagged"):
        _run(platform)
    with pytest.raises(DataValidationError, match="timestamps"):
        measure_mitigation(platform.interactions, is_sybil=platform.is_sybil, targets=platform.targets,
                           audience=platform.audience, mitigation="cohort_caps")


def test_holdout_takes_each_real_accounts_latest(platform):
    real = ~platform.is_sybil
    train, train_t, held = holdout_latest(platform.interactions, platform.timestamps, real)
    assert train.nnz + held.nnz == platform.interactions.nnz
    u = int(np.flatnonzero(np.diff(held.indptr) > 0)[0])
    assert platform.timestamps[u, held[u].indices[0]] == platform.timestamps[u].data.max()
    assert held[platform.is_sybil].nnz == 0


def test_weighted_mitigation_for_a_binarizing_recommender_drops_low_weight_engagements(platform):
    # ratings are 1-5: a weight is judged relative to the engagement's own value, not its raw product
    from mlsiege.defenses.reco.mitigation import _binarize_weights

    R = platform.interactions.tocsr()
    W = R.copy()
    W.data = W.data * np.where(np.arange(W.nnz) % 2 == 0, 0.2, 1.0)
    kept = _binarize_weights(W, R)
    assert kept.nnz == (np.arange(R.nnz) % 2 == 1).sum()
