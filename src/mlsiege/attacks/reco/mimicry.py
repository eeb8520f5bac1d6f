"""Audience mimicry: sybils engage like real members of the target audience, then with the target.

Each sybil copies the most typical engagements of one real audience member (the member's items
that the audience engages with most), so to a collaborative recommender it *is* an audience
member who also loves the target: the recommender's own goal, serving audience members what
similar accounts liked, does the promotion. Related to data-driven injection that imitates real
profiles (Tang, Wen & Wang 2020, RecSys; Fang et al. 2020, WWW).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.profiles import (
    SybilBudget,
    assemble,
    audience_counts,
    check_targets,
    finish,
    public_matrix,
)
from mlsiege.errors import ConfigError

__all__ = ["audience_mimicry_tang2020", "mimic_profiles"]


def _audience_ids(audience: np.ndarray | None, n_users: int) -> np.ndarray:
    if audience is None:
        return np.arange(n_users)
    audience = np.asarray(audience)
    ids = np.flatnonzero(audience) if audience.dtype == bool else audience.astype(np.int64)
    if ids.size == 0:
        raise ConfigError("the target audience is empty")
    return ids


def mimic_profiles(
    rng: np.random.Generator, matrix: sp.csr_matrix, audience: np.ndarray | None, n_rows: int, n_fill: int, exclude: np.ndarray
) -> np.ndarray:
    """``n_rows`` filler rows, each the ``n_fill`` most audience-typical items of one real member.

    Members are drawn among the audience's more active accounts (a member with few engagements
    gives a short row that is topped up with the audience's favourite items).
    """
    ids = _audience_ids(audience, matrix.shape[0])
    weight = audience_counts(matrix, audience).astype(float)
    weight[exclude] = 0.0
    activity = np.diff(matrix.indptr)[ids].astype(float)
    p = activity / activity.sum() if activity.sum() > 0 else None
    models = rng.choice(ids, size=n_rows, replace=ids.size < n_rows, p=p)
    sub = matrix[models]
    sub.data[:] = 1.0
    scored = sub.multiply(weight[None, :] + 1e-3 * rng.random(weight.size)[None, :]).tocsr().toarray()
    scored[:, exclude] = 0.0
    # top up with the audience's favourites, ranked below every item of the member's own profile
    favourite = weight / (weight.max() + 1.0) * 1e-6
    scored = np.where(scored > 0, scored + 1.0, favourite[None, :])
    scored[:, exclude] = -np.inf
    n_fill = min(n_fill, int((weight > 0).sum()) if (weight > 0).any() else n_fill)
    if n_fill <= 0:
        return np.empty((n_rows, 0), dtype=np.int64)
    return np.argpartition(-scored, n_fill - 1, axis=1)[:, :n_fill]


def audience_mimicry_tang2020(
    interactions: Any,
    *,
    targets: Any,
    n_sybils: int,
    engagements_per_sybil: int = 30,
    audience: np.ndarray | None = None,
    follows: Any = None,
    recommender: Any = None,
    seed: int = 0,
) -> Any:
    """Audience mimicry: each sybil replays a real audience member's typical engagements plus
    the targets, so the recommender matches real audience members to the sybils.

    Tang, J., Wen, H. & Wang, K. (2020). Revisiting adversarially learned injection attacks in
    recommender systems. RecSys 2020 (data-driven fake profiles that imitate real users).
    """
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    matrix = public_matrix(interactions)
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    targets = check_targets(targets, matrix.shape[1], budget)
    high = float(matrix.data.max()) if matrix.nnz else 1.0
    fillers = mimic_profiles(rng, matrix, audience, n_sybils, engagements_per_sybil - targets.size, targets)
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=high)
    return finish("audience_mimicry_tang2020", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)
