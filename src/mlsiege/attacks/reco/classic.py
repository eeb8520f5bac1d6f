"""Classic profile-injection (shilling) attacks: random, average, bandwagon, segment.

Each sybil rates the targets at the top of the scale and fills its profile with items chosen by
a fixed rule (Lam & Riedl 2004; Burke, Mobasher & Bhaumik 2005; Mobasher et al. 2005). They
need no knowledge of the recommender and little of the data. Calling convention: see
:mod:`mlsiege.checks.reco`.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from mlsiege.attacks.reco.profiles import (
    SybilBudget,
    assemble,
    audience_counts,
    finish,
    prepare,
    sample_rows,
)

__all__ = ["average_attack_lam2004", "bandwagon_attack_burke2005", "random_attack_lam2004", "segment_attack_mobasher2005"]


def _scale(matrix: Any) -> tuple[float, float, float, float]:
    data = matrix.data if matrix.nnz else np.ones(1, dtype=np.float32)
    return float(data.mean()), float(data.std()), float(data.min()), float(data.max())


def random_attack_lam2004(
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
    """Random attack: fillers drawn uniformly, rated around the global mean.

    Lam, S. K. & Riedl, J. (2004). Shilling recommender systems for fun and profit. WWW 2004.
    """
    started = time.perf_counter()
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    mean, std, low, high = _scale(matrix)
    fillers = sample_rows(rng, np.ones(matrix.shape[1]), n_sybils, engagements_per_sybil - targets.size, targets)
    ratings = np.clip(np.round(rng.normal(mean, std, fillers.shape)), low, high)
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=ratings)
    return finish("random_attack_lam2004", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)


def average_attack_lam2004(
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
    """Average attack: random fillers rated at each item's mean rating.

    Lam, S. K. & Riedl, J. (2004). Shilling recommender systems for fun and profit. WWW 2004.
    """
    started = time.perf_counter()
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    mean, _, low, high = _scale(matrix)
    counts = np.diff(matrix.tocsc().indptr)
    sums = np.asarray(matrix.sum(axis=0)).ravel()
    item_mean = np.where(counts > 0, sums / np.maximum(counts, 1), mean)
    fillers = sample_rows(rng, np.ones(matrix.shape[1]), n_sybils, engagements_per_sybil - targets.size, targets)
    ratings = np.clip(np.round(item_mean[fillers]), low, high)
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=ratings)
    return finish("average_attack_lam2004", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)


def bandwagon_attack_burke2005(
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
    """Bandwagon attack: the most popular items rated high, random fillers around the mean.

    Burke, R., Mobasher, B. & Bhaumik, R. (2005). Limited knowledge shilling attacks in
    collaborative filtering systems. IJCAI 2005 workshop on Intelligent Techniques for Web
    Personalization.
    """
    started = time.perf_counter()
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    mean, std, low, high = _scale(matrix)
    free = engagements_per_sybil - targets.size
    popularity = audience_counts(matrix, None).astype(float)
    popularity[targets] = -1.0
    n_selected = min(max(1, free // 4), free)
    selected = np.argsort(-popularity, kind="stable")[:n_selected]
    rest = sample_rows(rng, np.ones(matrix.shape[1]), n_sybils, free - selected.size, np.concatenate([targets, selected]))
    fillers = np.hstack([np.broadcast_to(selected, (n_sybils, selected.size)), rest])
    ratings = np.hstack([np.full((n_sybils, selected.size), high), np.clip(np.round(rng.normal(mean, std, rest.shape)), low, high)])
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=ratings)
    return finish("bandwagon_attack_burke2005", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)


def segment_attack_mobasher2005(
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
    """Segment attack: items the target segment likes most rated high, random fillers rated low.

    The segment is ``audience`` (all users when not given); its favourite items are those with
    the highest lift (audience share over overall share).

    Mobasher, B., Burke, R., Bhaumik, R. & Williams, C. (2005). Effective attack models for
    shilling item-based collaborative filtering systems. WebKDD 2005.
    """
    started = time.perf_counter()
    budget = SybilBudget(n_sybils, engagements_per_sybil)
    rng, matrix, targets = prepare(interactions, targets, budget, seed)
    _, _, low, high = _scale(matrix)
    free = engagements_per_sybil - targets.size
    inside = audience_counts(matrix, audience).astype(float)
    overall = audience_counts(matrix, None).astype(float)
    lift = (inside + 1.0) / (overall + 5.0) * np.log1p(inside)
    lift[targets] = -1.0
    n_selected = min(max(1, free // 3), free)
    selected = np.argsort(-lift, kind="stable")[:n_selected]
    rest = sample_rows(rng, np.ones(matrix.shape[1]), n_sybils, free - selected.size, np.concatenate([targets, selected]))
    fillers = np.hstack([np.broadcast_to(selected, (n_sybils, selected.size)), rest])
    ratings = np.hstack([np.full((n_sybils, selected.size), high), np.full(rest.shape, low)])
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=ratings)
    return finish("segment_attack_mobasher2005", rows, targets=targets, budget=budget, config=None, seed=seed, started=started)
