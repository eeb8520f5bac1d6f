import numpy as np
import pytest
import scipy.sparse as sp

from mlsiege.metrics.reco import (
    amplification,
    hit_ratio_at_k,
    ndcg_at_k,
    recall_at_k,
    rounds_until_reach,
)


def test_hit_ratio_counts_only_audience_users_who_had_not_seen_the_target():
    recs = np.array([[5, 1], [2, 3], [5, 0], [5, 4]])
    seen = sp.csr_matrix(np.array([[0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 0], [0, 0, 0, 0, 0, 1], [0] * 6]))
    hr = hit_ratio_at_k(recs, [5], seen, np.arange(4), k=2)
    assert hr == pytest.approx(2 / 3)  # user 2 had seen item 5
    audience = np.array([True, True, False, False])
    assert hit_ratio_at_k(recs, [5], seen, np.arange(4), audience=audience, k=2) == pytest.approx(0.5)


def test_ndcg_and_recall():
    recs = np.array([[1, 2, 3], [4, 5, 6]])
    held = sp.csr_matrix(([1.0, 1.0], ([0, 1], [1, 6])), shape=(2, 8))
    assert recall_at_k(recs, held, np.arange(2), 3) == 1.0
    assert ndcg_at_k(recs, held, np.arange(2), 3) == pytest.approx((1.0 + 1 / np.log2(4)) / 2)


def test_amplification_and_reach():
    assert amplification(30, 10, 10) == 2.0
    assert amplification(30, 10, 0) == 0.0
    assert rounds_until_reach([0.0, 0.02, 0.06], 0.05) == 3
    assert rounds_until_reach([0.0], 0.05) is None
