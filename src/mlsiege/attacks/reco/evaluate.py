"""Static attack evaluation: retrain once on the poisoned log and measure exposure and utility.

The protocol of ``mlsiege reco attack``: hold out each real user's latest engagement (benign
utility), draw ``n_targets`` items from the least popular quartile with the seed (audience: every
real user unless given), fit the recommender clean and attacked, and report ``hr_at_10`` and
``ndcg_at_10`` for both.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.metrics.reco import hit_ratio_at_k, ndcg_at_k, recall_at_k

__all__ = ["cold_targets", "default_engagements_per_sybil", "evaluate_static_attack", "hold_out_latest"]


def hold_out_latest(matrix: sp.csr_matrix, timestamps: sp.csr_matrix | None) -> tuple[sp.csr_matrix, sp.csr_matrix]:
    """Split off each user's latest engagement (users with at least two): ``(train, held_out)``."""
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    matrix.sort_indices()
    times = matrix.copy() if timestamps is None else sp.csr_matrix(timestamps, dtype=np.float64, copy=True)
    times.sort_indices()
    if times.nnz != matrix.nnz:
        raise ConfigError("timestamps must have the same stored entries as the interactions")
    n = np.diff(matrix.indptr)
    row = np.repeat(np.arange(matrix.shape[0]), n)
    # latest per row: sort by (row, time), the last entry of each row; ties go to the larger item id
    order = np.lexsort((times.indices, times.data, row))
    last = order[matrix.indptr[1:][n >= 2] - 1]
    held = np.zeros(matrix.nnz, dtype=bool)
    held[last] = True
    shape = matrix.shape
    held_out = sp.csr_matrix((matrix.data[held], matrix.indices[held], np.concatenate([[0], np.cumsum(np.bincount(row[held], minlength=shape[0]))])), shape=shape)
    train = sp.csr_matrix((matrix.data[~held], matrix.indices[~held], np.concatenate([[0], np.cumsum(np.bincount(row[~held], minlength=shape[0]))])), shape=shape)
    return train, held_out


def cold_targets(matrix: sp.csr_matrix, n_targets: int, seed: int) -> np.ndarray:
    """``n_targets`` items drawn by ``seed`` from the least popular quartile (ties by item id)."""
    counts = np.diff(sp.csc_matrix(matrix).indptr)
    order = np.argsort(counts, kind="stable")
    quartile = order[: max(n_targets, matrix.shape[1] // 4)]
    if n_targets > quartile.size:
        raise ConfigError(f"cannot draw {n_targets} targets from {matrix.shape[1]} items")
    return np.sort(np.random.default_rng(seed).choice(quartile, n_targets, replace=False))


def _evaluate(model: Any, train: sp.csr_matrix, held_out: sp.csr_matrix, users: np.ndarray, targets: np.ndarray, audience: np.ndarray | None, k: int) -> dict[str, float]:
    recs = model.recommend(users, k)
    return {
        "hr": hit_ratio_at_k(recs, targets, train, users, audience=audience, k=k),
        "ndcg": ndcg_at_k(recs, held_out, users, k),
        "recall": recall_at_k(recs, held_out, users, k),
    }


def default_engagements_per_sybil(train: sp.csr_matrix, n_targets: int) -> int:
    """A sybil's budget when none is given: the real users' mean profile size, at least the
    targets plus one filler and at most 200 (a sybil no busier than an average account)."""
    mean_profile = train.nnz / max(train.shape[0], 1)
    return int(np.clip(round(mean_profile), n_targets + 1, 200))


def evaluate_static_attack(
    recipe: Callable[..., Any],
    make_recommender: Callable[[], Any],
    interactions: sp.csr_matrix,
    *,
    timestamps: sp.csr_matrix | None = None,
    sybil_fraction: float = 0.01,
    n_targets: int = 5,
    targets: np.ndarray | None = None,
    audience: np.ndarray | None = None,
    engagements_per_sybil: int | None = None,
    follows: sp.csr_matrix | None = None,
    seed: int = 0,
    k: int = 10,
    recommender: str | None = None,
) -> dict[str, Any]:
    """Run ``recipe`` once against a fresh recommender and return the report's figures.

    ``make_recommender()`` builds an unfitted model with ``fit(matrix, follows)`` and
    ``recommend(users, k)``. Sybils get ids after the real users; only real users are measured.
    ``recommender`` names the victim's family to the recipe (what a gray-box attacker knows:
    the optimized attack fits a surrogate of that family; the others ignore it).
    """
    started = time.perf_counter()
    if not 0.0 < sybil_fraction < 1.0:
        raise ConfigError(f"sybil fraction must be in (0, 1), got {sybil_fraction}")
    train, held_out = hold_out_latest(interactions, timestamps)
    n_users, n_items = train.shape
    if targets is None:
        targets = cold_targets(train, n_targets, seed)
    targets = np.asarray(targets, dtype=np.int64)
    n_sybils = max(1, int(round(sybil_fraction * n_users)))
    if engagements_per_sybil is None:
        engagements_per_sybil = default_engagements_per_sybil(train, targets.size)
    users = np.arange(n_users)
    audience_mask = None if audience is None else np.asarray(audience, dtype=bool)

    t0 = time.perf_counter()
    clean = _evaluate(make_recommender().fit(train, follows), train, held_out, users, targets, audience_mask, k)
    clean_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = recipe(train, targets=targets, n_sybils=n_sybils, engagements_per_sybil=engagements_per_sybil, audience=audience_mask, follows=follows, recommender=recommender, seed=seed)
    attack_s = time.perf_counter() - t0
    sybil_rows = sp.csr_matrix(result.artifacts["sybil_interactions"], dtype=np.float32)
    poisoned = sp.vstack([train, sybil_rows], format="csr")
    poisoned_follows = _with_sybil_follows(follows, result.artifacts.get("follows"), n_users, n_sybils)
    t0 = time.perf_counter()
    attacked = _evaluate(make_recommender().fit(poisoned, poisoned_follows), poisoned, held_out_pad(held_out, n_sybils), users, targets, audience_mask, k)
    attacked_s = time.perf_counter() - t0
    return {
        "attack": result.attack,
        "users": n_users,
        "items": n_items,
        "engagements": int(interactions.nnz),
        "targets": targets.tolist(),
        "n_sybils": n_sybils,
        "engagements_per_sybil": engagements_per_sybil,
        "sybil_engagements": int(sybil_rows.nnz),
        "hr_at_10_clean": clean["hr"],
        "hr_at_10_attacked": attacked["hr"],
        "ndcg_at_10_clean": clean["ndcg"],
        "ndcg_at_10_attacked": attacked["ndcg"],
        "recall_at_10_clean": clean["recall"],
        "recall_at_10_attacked": attacked["recall"],
        "hr_lift": attacked["hr"] / clean["hr"] if clean["hr"] > 0 else None,
        "clean_s": clean_s,
        "attack_s": attack_s,
        "attacked_s": attacked_s,
        "seconds": time.perf_counter() - started,
        "attack_result": result.to_dict(),
    }


def held_out_pad(held_out: sp.csr_matrix, n_rows: int) -> sp.csr_matrix:
    """``held_out`` with ``n_rows`` empty rows appended (for sybils, never measured)."""
    return sp.vstack([held_out, sp.csr_matrix((n_rows, held_out.shape[1]), dtype=held_out.dtype)], format="csr")


def _with_sybil_follows(follows: sp.csr_matrix | None, edges: Any, n_users: int, n_sybils: int) -> sp.csr_matrix | None:
    edges = np.empty((0, 2), dtype=np.int64) if edges is None else np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if follows is None and edges.size == 0:
        return None
    n = n_users + n_sybils
    base = sp.csr_matrix((n, n), dtype=np.float32) if follows is None else sp.csr_matrix(
        (sp.csr_matrix(follows).tocoo().data, (sp.csr_matrix(follows).tocoo().row, sp.csr_matrix(follows).tocoo().col)), shape=(n, n)
    )
    added = sp.csr_matrix((np.ones(len(edges), dtype=np.float32), (edges[:, 0], edges[:, 1])), shape=(n, n))
    out = (base + added).tocsr()
    out.data[:] = 1.0
    return out
