import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.errors import CapabilityError, ConfigError, TargetResponseError
from mlsiege.targets import Budgeted, Recommender
from mlsiege.targets.recommenders import (
    ItemKNNRecommender,
    from_recommender,
    make_recommender,
    row_top_k,
    top_k,
)


@pytest.fixture
def log():
    rng = np.random.default_rng(0)
    topic_u, topic_i = rng.integers(0, 4, 200), np.arange(120) % 4
    p = np.where(topic_u[:, None] == topic_i[None, :], 0.2, 0.02)
    return sp.csr_matrix((rng.random((200, 120)) < p).astype(np.float32))


@pytest.mark.parametrize("name", ["popularity", "item-knn", "als", "bpr", "social"])
def test_recommenders_serve_unseen_items(name, log):
    follows = sp.random(200, 200, density=0.03, format="csr", random_state=1)
    model = make_recommender(name).fit(log, follows)
    assert isinstance(model, Recommender)
    recs = model.recommend(np.arange(200), 10)
    assert recs.shape == (200, 10)
    assert all(len(set(row)) == 10 for row in recs.tolist())
    rows = np.repeat(np.arange(200), 10)
    assert np.asarray(log[rows, recs.ravel()]).ravel().sum() == 0, "a seen item was recommended"


def test_item_knn_sparse_serving_matches_dense_reference(log):
    model = ItemKNNRecommender().fit(log)
    dense = top_k(lambda u: (model.seen_[u] @ model.similarity_).toarray(), model.seen_, np.arange(200), 15, prior=model.popularity_)
    sparse = model.recommend(np.arange(200), 15)
    scores = (model.seen_ @ model.similarity_).toarray() + model.popularity_ * 1e-6
    # same scores in the same order (exact ties may come in another column order)
    assert np.allclose(np.take_along_axis(scores, sparse, 1), np.take_along_axis(scores, dense, 1))
    assert (sparse == dense).mean() > 0.95


def test_item_knn_follows_topics(log):
    recs = ItemKNNRecommender().fit(log).recommend(np.arange(200), 5)
    topic_u = np.argmax(np.stack([np.asarray(log[:, t::4].sum(axis=1)).ravel() for t in range(4)], 1), 1)
    assert ((recs % 4) == topic_u[:, None]).mean() > 0.8


def test_row_top_k_equals_sorting():
    block = np.random.default_rng(3).random((30, 500)).astype(np.float32)
    idx, val = row_top_k(block, 7)
    assert np.array_equal(idx, np.argsort(-block, axis=1)[:, :7])
    assert np.allclose(val, -np.sort(-block, axis=1)[:, :7])


def test_unknown_names_and_users_are_config_errors(log):
    with pytest.raises(ConfigError, match="unknown recommender"):
        make_recommender("nope")
    with pytest.raises(ConfigError, match="unknown user ids"):
        make_recommender("item-knn").fit(log).recommend([500], 3)


def test_adapter_checks_answers_and_counts_queries(log):
    class Bad:
        def recommend(self, users, k):
            return np.zeros((1, k))

    with pytest.raises(CapabilityError):
        from_recommender(object())
    with pytest.raises(TargetResponseError):
        from_recommender(Bad()).recommend(np.arange(3), 2)
    target = Budgeted(from_recommender(make_recommender("popularity").fit(log)), max_queries=5)
    assert target.recommend(np.arange(4), 3).shape == (4, 3)
    assert target.queries_used == 4


def test_social_item_walk_is_exact_unpruned_and_keeps_the_strongest_entries(log):
    from mlsiege.targets.recommenders.social import SocialConfig, SocialRecommender

    follows = sp.random(200, 200, density=0.03, format="csr", random_state=2)
    exact = SocialRecommender(SocialConfig(neighbors=0)).fit(log, follows)
    walk = (exact.item_to_user_ @ exact.user_to_item_).toarray()
    assert np.allclose(exact.item_walk_.toarray(), walk, atol=1e-6)
    pruned = SocialRecommender(SocialConfig(neighbors=5)).fit(log, follows).item_walk_.toarray()
    assert ((pruned > 0).sum(axis=1) <= 5).all()
    # what is kept is each row's largest entries
    kept_min = np.where(pruned > 0, pruned, np.inf).min(axis=1)
    dropped_max = np.where((pruned == 0) & (walk > 0), walk, 0).max(axis=1)
    assert (dropped_max <= kept_min + 1e-6).all()
