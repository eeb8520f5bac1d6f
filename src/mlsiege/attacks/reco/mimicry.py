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
    audience_ids,
    finish,
    prepare,
)
from mlsiege.errors import ConfigError

__all__ = ["audience_mimicry_tang2020", "mimic_profiles"]


def mimic_profiles(
    rng: np.random.Generator, matrix: sp.csr_matrix, audience: np.ndarray | None, n_rows: int, n_fill: int, exclude: np.ndarray
) -> np.ndarray:
    """``n_rows`` filler rows of ``n_fill`` items, each shaped on one real audience member.

    Members are drawn among the audience's more active accounts; a sybil keeps the member's
    engagements among the audience's core (its ``2 n_fill`` most engaged items) and tops up at
    random from the core, so sybils look like audience members and still agree with each other.
    """
    ids = audience_ids(audience, matrix.shape[0])
    if ids.size == 0:
        raise ConfigError("the target audience is empty")
    weight = audience_counts(matrix, audience).astype(float)
    weight[exclude] = 0.0
    n_fill = min(n_fill, int((weight > 0).sum()))
    if n_fill <= 0:
        return np.empty((n_rows, 0), dtype=np.int64)
    # the audience's core: its 2 n most engaged items; a sybil keeps the core items its model
    # member engaged with (most typical first) and tops up from the rest of the core
    core = np.argsort(-weight, kind="stable")[: 2 * n_fill]
    core = core[weight[core] > 0]
    activity = np.diff(matrix.indptr)[ids].astype(float)
    p = activity / activity.sum() if activity.sum() > 0 else None
    models = rng.choice(ids, size=n_rows, replace=ids.size < n_rows, p=p)
    own = matrix[models][:, core].toarray() > 0
    rank = weight[core] / (weight[core].max() + 1.0) + rng.random((n_rows, core.size)) * 1e-3
    scored = np.where(own, 2.0 + rank, rank * rng.random((n_rows, core.size)))
    pick = np.argpartition(-scored, min(n_fill, core.size) - 1, axis=1)[:, : min(n_fill, core.size)]
    return core[pick]


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
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    high = float(matrix.data.max()) if matrix.nnz else 1.0
    fillers = mimic_profiles(rng, matrix, audience, n_sybils, engagements_per_sybil - targets.size, targets)
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=high)
    return finish("audience_mimicry_tang2020", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)
