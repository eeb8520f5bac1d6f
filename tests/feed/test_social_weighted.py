"""The social recommender's ``weighted`` option: trust weights and caps reach the walk."""

import numpy as np
import scipy.sparse as sp

from mlsiege.targets.recommenders import SocialConfig, SocialRecommender


def _log(seed=0, users=60, items=40):
    m = sp.random(users, items, density=0.15, random_state=seed, format="csr", dtype=np.float32)
    m.data[:] = 1.0
    f = sp.random(users, users, density=0.1, random_state=seed + 1, format="csr", dtype=np.float32)
    f.data[:] = 1.0
    return m, f


def test_unit_weights_give_the_unweighted_walk():
    m, f = _log()
    users = np.arange(m.shape[0])
    plain = SocialRecommender().fit(m, f)
    weighted = SocialRecommender(SocialConfig(weighted=True)).fit(m, f)
    np.testing.assert_allclose(plain._scores(users), weighted._scores(users), rtol=1e-6)
    assert (plain.recommend(users, 5) == weighted.recommend(users, 5)).all()


def test_zero_weight_accounts_pass_on_nothing_and_keep_their_seen_items():
    m, f = _log()
    pushed = 7
    m = m.tolil()
    m[50:, :] = 0.0
    m[50:, pushed] = 1.0  # ten accounts push one item
    m = sp.csr_matrix(m)
    users = np.arange(50)
    base = SocialRecommender(SocialConfig(weighted=True)).fit(m, f)._scores(users)[:, pushed]
    w = m.copy()
    w.data[np.repeat(np.arange(60), np.diff(w.indptr)) >= 50] = 0.0  # explicit zeros: removed from training, still seen
    model = SocialRecommender(SocialConfig(weighted=True)).fit(w, f)
    after = model._scores(users)[:, pushed]
    assert (after <= base + 1e-9).all() and after.sum() < base.sum()
    assert model.seen_[55, pushed] == 1.0
