"""Robust ranking: what a recommender learns from, when some engagement cannot be trusted.

Three mitigations reshape the engagement matrix a recommender is trained on, and
:func:`item_knn_topk` (item-item cosine, Sarwar et al. 2001) measures their effect:

* :func:`without_accounts`: retrain with flagged accounts removed;
* :func:`trust_weighted`: each account's engagement weighted by its SybilRank trust
  (Cao et al. 2012), capped at 1, so accounts the social graph does not vouch for count little;
* :func:`cap_cohort_influence`: accounts that joined in the same period form a cohort, and no
  cohort may give an item more than ``cap`` engagements' worth of weight (per-cohort influence
  caps; Sybil campaigns are created in bursts).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.trust import trust_scores
from mlsiege.errors import ConfigError

__all__ = ["cap_cohort_influence", "item_knn_topk", "trust_weighted", "without_accounts"]


def without_accounts(interactions: sp.spmatrix, keep_mask: np.ndarray) -> sp.csr_matrix:
    """The matrix with the rows of flagged accounts emptied (shape unchanged)."""
    keep = np.asarray(keep_mask, dtype=float)
    return sp.csr_matrix(sp.diags(keep) @ sp.csr_matrix(interactions))


def trust_weighted(interactions: sp.spmatrix, follows: sp.spmatrix, *, seeds: np.ndarray | None = None, n_seeds: int = 20) -> tuple[sp.csr_matrix, np.ndarray]:
    """Rows scaled by ``min(1, trust / median positive trust)``; returns the matrix and weights."""
    trust = trust_scores(follows, seeds, n_seeds=n_seeds)
    pos = trust[trust > 0]
    ref = float(np.median(pos)) if pos.size else 1.0
    w = np.minimum(1.0, trust / ref)
    return sp.csr_matrix(sp.diags(w) @ sp.csr_matrix(interactions)), w


def cap_cohort_influence(interactions: sp.spmatrix, timestamps: sp.spmatrix, *, cohort_days: float = 7.0, cap: float = 5.0, share: float = 3.0) -> tuple[sp.csr_matrix, np.ndarray]:
    """Scale engagements so each join-cohort gives each item at most its fair weight.

    A cohort is the accounts whose first engagement falls in the same ``cohort_days`` period.
    Its allowance on an item is ``max(cap, share * expected)``, ``expected`` being the item's
    engagements times the cohort's share of accounts; above that, the cohort's engagements on
    the item are scaled down together. Returns the matrix and each account's smallest weight.
    """
    if cohort_days <= 0 or cap <= 0 or share <= 0:
        raise ConfigError(f"cohort caps need cohort_days, cap and share > 0; got {cohort_days}, {cap}, {share}")
    eng = as_engagements(interactions, timestamps)
    first = np.full(eng.n_users, np.inf)
    np.minimum.at(first, eng.user, eng.time)
    active = np.isfinite(first)
    cohort = np.zeros(eng.n_users, dtype=np.int64)
    cohort[active] = np.floor((first[active] - first[active].min()) / (cohort_days * 86_400.0)).astype(np.int64)
    size = np.bincount(cohort[active], minlength=cohort.max() + 1)
    n_i = np.bincount(eng.item, minlength=eng.n_items)
    key = cohort[eng.user] * eng.n_items + eng.item
    uniq, inv, count = np.unique(key, return_inverse=True, return_counts=True)
    expected = n_i[eng.item] * size[cohort[eng.user]] / max(int(active.sum()), 1)
    allowance = np.maximum(cap, share * expected)
    factor = np.minimum(1.0, allowance / count[inv])
    weights = np.ones(eng.n_users)
    np.minimum.at(weights, eng.user, factor)
    M = sp.csr_matrix((eng.value * factor, (eng.user, eng.item)), shape=(eng.n_users, eng.n_items))
    return M, weights


def item_knn_topk(train: sp.spmatrix, users: np.ndarray, k: int, *, exclude: sp.spmatrix | None = None) -> np.ndarray:
    """Top-``k`` items per user from item-item cosine similarity of the (weighted) matrix.

    ``exclude`` (default ``train``) holds each user's already-engaged items, never recommended.
    """
    X = sp.csr_matrix(train, dtype=float)
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=0)).ravel())
    inv = sp.diags(1.0 / np.where(norms > 0, norms, 1.0))
    S = (inv @ (X.T @ X) @ inv).tocsr()
    S.setdiag(0.0)
    seen = sp.csr_matrix(exclude if exclude is not None else train)
    profile = seen[users].astype(bool).astype(float)
    scores = np.asarray((profile @ S).todense())
    scores[profile.toarray() > 0] = -np.inf
    top = np.argpartition(-scores, kth=min(k, scores.shape[1] - 1), axis=1)[:, :k]
    order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
    return np.take_along_axis(top, order, axis=1)
