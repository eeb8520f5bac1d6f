"""Recommender metrics: target exposure, amplification, reach time and benign utility.

All functions are pure and vectorized over users. ``recs`` is a ``(n_users, k)`` array of item
ids, best first, for the users in ``users`` (row ``r`` belongs to ``users[r]``).
"""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

__all__ = [
    "amplification",
    "hit_ratio_at_k",
    "ndcg_at_k",
    "recall_at_k",
    "rounds_until_reach",
    "target_exposure",
]


def target_exposure(
    recs: np.ndarray,
    targets: np.ndarray,
    *,
    eligible: np.ndarray | None = None,
    k: int | None = None,
) -> np.ndarray:
    """Per target, the fraction of eligible users whose top-``k`` holds it.

    ``eligible`` is a boolean ``(n_users, n_targets)`` mask (default: everyone); a target with no
    eligible user scores 0.
    """
    recs = np.asarray(recs)
    targets = np.atleast_1d(np.asarray(targets))
    top = recs[:, : (k or recs.shape[1])]
    hits = (top[:, :, None] == targets[None, None, :]).any(axis=1)
    if eligible is None:
        eligible = np.ones_like(hits, dtype=bool)
    eligible = np.asarray(eligible, dtype=bool)
    count = eligible.sum(axis=0)
    return np.where(count > 0, (hits & eligible).sum(axis=0) / np.maximum(count, 1), 0.0)


def hit_ratio_at_k(
    recs: np.ndarray,
    targets: np.ndarray,
    seen: sp.csr_matrix,
    users: np.ndarray,
    *,
    audience: np.ndarray | None = None,
    k: int = 10,
) -> float:
    """Mean over targets of the fraction of audience users who had not engaged with the target
    and get it in their top ``k`` (the issue's ``hr_at_10`` when ``k`` is 10).

    ``audience`` is a boolean mask over ``users`` (default: all of them); ``seen`` the
    ``users x items`` engagement matrix before the recommendation.
    """
    targets = np.atleast_1d(np.asarray(targets))
    users = np.asarray(users)
    before = np.asarray(seen[users][:, targets].toarray() != 0)
    eligible = ~before
    if audience is not None:
        eligible &= np.asarray(audience, dtype=bool)[:, None]
    return float(target_exposure(recs, targets, eligible=eligible, k=k).mean()) if targets.size else 0.0


def _hits(truth: sp.csr_matrix, top: np.ndarray) -> np.ndarray:
    """Boolean ``top.shape``: is ``top[r, j]`` a stored entry of row ``r`` of ``truth``."""
    n_items = truth.shape[1]
    rows = np.repeat(np.arange(truth.shape[0], dtype=np.int64), np.diff(truth.indptr))
    stored = rows * n_items + truth.indices
    asked = np.arange(top.shape[0], dtype=np.int64)[:, None] * n_items + top
    return np.isin(asked, stored)


def recall_at_k(recs: np.ndarray, held_out: sp.csr_matrix, users: np.ndarray, k: int = 10) -> float:
    """Mean over users with held-out engagements of the share of them found in the top ``k``."""
    truth = sp.csr_matrix(held_out)[np.asarray(users)]
    n_true = np.diff(truth.indptr)
    top = np.asarray(recs)[:, :k]
    hit = _hits(truth, top)
    mask = n_true > 0
    if not mask.any():
        return 0.0
    return float((hit.sum(axis=1)[mask] / np.minimum(n_true[mask], k)).mean())


def ndcg_at_k(recs: np.ndarray, held_out: sp.csr_matrix, users: np.ndarray, k: int = 10) -> float:
    """Binary-relevance NDCG@k over users with at least one held-out engagement."""
    truth = sp.csr_matrix(held_out)[np.asarray(users)]
    n_true = np.diff(truth.indptr)
    top = np.asarray(recs)[:, :k]
    hit = _hits(truth, top)
    discount = 1.0 / np.log2(np.arange(2, top.shape[1] + 2))
    dcg = (hit * discount).sum(axis=1)
    ideal = np.cumsum(discount)[np.minimum(n_true, top.shape[1]) - 1]
    mask = n_true > 0
    if not mask.any():
        return 0.0
    return float((dcg[mask] / ideal[mask]).mean())


def amplification(impressions_attacked: float, impressions_clean: float, sybil_engagements: int) -> float:
    """Extra target impressions shown to real users per sybil engagement spent."""
    if sybil_engagements <= 0:
        return 0.0
    return float((impressions_attacked - impressions_clean) / sybil_engagements)


def rounds_until_reach(exposure_per_round: np.ndarray, threshold: float) -> int | None:
    """First round (1-based) whose exposure reaches ``threshold``; ``None`` if it never does."""
    hit = np.flatnonzero(np.asarray(exposure_per_round) >= threshold)
    return int(hit[0]) + 1 if hit.size else None
