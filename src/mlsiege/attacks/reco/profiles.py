"""Parts every sybil attack is built from: the budget, item statistics, filler choice, profiles.

A sybil *profile* is one row of engagements: the target items plus fillers. Recipes differ only in
how they choose fillers (and ratings), and whether they add follow edges; assembling rows,
checking the budget and building the :class:`~mlsiege.results.AttackResult` live here.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.results import AttackResult

__all__ = [
    "ATLAS",
    "SybilBudget",
    "assemble",
    "audience_counts",
    "audience_ids",
    "check_targets",
    "prepare",
    "finish",
    "public_matrix",
    "sample_rows",
]

#: poisoning the training data by injecting crafted accounts; the crafted profiles are adversarial data
ATLAS = ("AML.T0020", "AML.T0043", "AML.T0031")


@dataclass(frozen=True)
class SybilBudget:
    """What the attacker may spend: accounts, engagements per account, follows per account.

    ``engagements_per_sybil`` counts the target engagements too (per round, in the simulator).
    """

    n_sybils: int
    engagements_per_sybil: int = 30
    follows_per_sybil: int = 0

    def __post_init__(self) -> None:
        if int(self.n_sybils) != self.n_sybils or self.n_sybils < 1:
            raise ConfigError(f"n_sybils must be a positive integer, got {self.n_sybils!r}")
        if int(self.engagements_per_sybil) != self.engagements_per_sybil or self.engagements_per_sybil < 1:
            raise ConfigError(f"engagements_per_sybil must be a positive integer, got {self.engagements_per_sybil!r}")
        if self.follows_per_sybil < 0:
            raise ConfigError(f"follows_per_sybil must be >= 0, got {self.follows_per_sybil}")


def public_matrix(interactions: Any) -> sp.csr_matrix:
    """A private float32 copy of the public ``users x items`` engagement matrix."""
    matrix = getattr(interactions, "matrix", interactions)
    if not sp.issparse(matrix):
        matrix = np.asarray(matrix)
        if matrix.ndim != 2:
            raise ConfigError(f"interactions must be a users x items matrix, got shape {matrix.shape}")
    return sp.csr_matrix(matrix, dtype=np.float32, copy=True)


def prepare(
    interactions: Any, targets: Any, budget: SybilBudget, seed: int
) -> tuple[np.random.Generator, sp.csr_matrix, np.ndarray]:
    """The prologue every recipe shares: its private RNG, the public matrix, the checked targets."""
    matrix = public_matrix(interactions)
    return np.random.default_rng(seed), matrix, check_targets(targets, matrix.shape[1], budget)


def check_targets(targets: Any, n_items: int, budget: SybilBudget) -> np.ndarray:
    targets = np.unique(np.atleast_1d(np.asarray(targets, dtype=np.int64)))
    if targets.size == 0:
        raise ConfigError("targets is empty: name at least one item to promote")
    if targets.min() < 0 or targets.max() >= n_items:
        raise ConfigError(f"target items must be in [0, {n_items}), got {targets.tolist()[:5]}")
    if targets.size > budget.engagements_per_sybil:
        raise ConfigError(
            f"{targets.size} targets exceed the budget of {budget.engagements_per_sybil} engagements per sybil"
        )
    return targets


def audience_ids(audience: np.ndarray | None, n_users: int) -> np.ndarray:
    """The audience's user ids from a boolean mask or an id array (every user when None)."""
    if audience is None:
        return np.arange(n_users)
    audience = np.asarray(audience)
    return np.flatnonzero(audience) if audience.dtype == bool else audience.astype(np.int64)


def audience_counts(matrix: sp.csr_matrix, audience: np.ndarray | None) -> np.ndarray:
    """How many audience members engaged with each item (all users when ``audience`` is None)."""
    binary = matrix.copy()
    binary.data[:] = 1.0
    if audience is not None:
        audience = np.asarray(audience)
        if audience.dtype == bool:
            if audience.size != matrix.shape[0]:
                raise ConfigError(f"audience mask has {audience.size} entries for {matrix.shape[0]} users")
            binary = binary[audience]
        else:
            binary = binary[audience.astype(np.int64)]
    return np.asarray(binary.sum(axis=0)).ravel()


def sample_rows(rng: np.random.Generator, weights: np.ndarray, n_rows: int, n_pick: int, exclude: np.ndarray) -> np.ndarray:
    """``n_rows`` rows of ``n_pick`` distinct items each, drawn with probability ~ ``weights``.

    Gumbel top-k: one vectorized draw for every row, no loop over sybils.
    """
    weights = np.asarray(weights, dtype=float).copy()
    weights[exclude] = 0.0
    available = int((weights > 0).sum())
    n_pick = min(n_pick, available)
    if n_pick <= 0:
        return np.empty((n_rows, 0), dtype=np.int64)
    logits = np.where(weights > 0, np.log(np.where(weights > 0, weights, 1.0)), -np.inf)
    keys = logits[None, :] + rng.gumbel(size=(n_rows, weights.size))
    return np.argpartition(-keys, n_pick - 1, axis=1)[:, :n_pick]


def assemble(
    n_items: int,
    targets: np.ndarray,
    fillers: np.ndarray,
    *,
    target_rating: float = 5.0,
    filler_ratings: np.ndarray | float = 1.0,
) -> sp.csr_matrix:
    """Sybil rows: every target at ``target_rating`` plus that row's fillers."""
    n_rows = fillers.shape[0]
    rows_t = np.repeat(np.arange(n_rows), targets.size)
    cols_t = np.tile(targets, n_rows)
    rows_f = np.repeat(np.arange(n_rows), fillers.shape[1])
    vals_f = np.broadcast_to(np.asarray(filler_ratings, dtype=np.float32), fillers.shape).ravel()
    rows = np.concatenate([rows_t, rows_f])
    cols = np.concatenate([cols_t, fillers.ravel()])
    vals = np.concatenate([np.full(rows_t.size, target_rating, dtype=np.float32), vals_f])
    out = sp.csr_matrix((vals, (rows, cols)), shape=(n_rows, n_items), dtype=np.float32)
    out.sum_duplicates()
    return out


def finish(
    name: str,
    sybil_rows: sp.csr_matrix,
    *,
    targets: np.ndarray,
    budget: SybilBudget,
    config: Any,
    seed: int,
    started: float,
    follows: np.ndarray | None = None,
    queries: int = 0,
    calls: int = 0,
    metrics: dict[str, Any] | None = None,
) -> AttackResult:
    """Check the budget and wrap the sybil rows (and follow edges) in an :class:`AttackResult`."""
    per_row = np.diff(sybil_rows.indptr)
    if sybil_rows.shape[0] != budget.n_sybils or per_row.max(initial=0) > budget.engagements_per_sybil:
        raise ConfigError(f"{name} built profiles over budget: {sybil_rows.shape[0]} rows, max {per_row.max()} engagements")
    follows = np.empty((0, 2), dtype=np.int64) if follows is None else np.asarray(follows, dtype=np.int64)
    cfg = {**asdict(budget), **(asdict(config) if config is not None else {})}
    return AttackResult(
        attack=name,
        status="succeeded",
        artifacts={"sybil_interactions": sybil_rows, "follows": follows, "targets": targets},
        queries=queries,
        calls=calls,
        seconds=time.perf_counter() - started,
        config=cfg,
        seed=seed,
        atlas_techniques=ATLAS,
        metrics={
            "n_sybils": int(budget.n_sybils),
            "sybil_engagements": int(sybil_rows.nnz),
            "sybil_follows": int(len(follows)),
            **(metrics or {}),
        },
    )
