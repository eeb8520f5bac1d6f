"""The ``reco_attack`` family: calling convention, a tiny harness and its own checks.

Calling convention (every recipe in :mod:`mlsiege.attacks.reco` ``__all__`` follows it)::

    recipe(interactions, *, targets, n_sybils, engagements_per_sybil=30, audience=None,
           follows=None, recommender=None, seed=0) -> AttackResult

``interactions`` is the public ``users x items`` sparse engagement matrix (never mutated),
``targets`` the item ids to promote, ``audience`` a boolean mask over users (the real users the
attacker wants to reach; ``None`` = everyone), ``follows`` the public ``users x users`` follow
matrix, and ``recommender`` a :class:`~mlsiege.targets.Budgeted` recommender an attack may
query (one query per user asked). The result holds ``artifacts["sybil_interactions"]`` (sparse
``n_sybils x items``, at most ``engagements_per_sybil`` stored entries per row, targets included),
``artifacts["follows"]`` (an ``(m, 2)`` array of ``(follower, followee)``; sybil ``j`` is
``n_users + j``, and only sybils may follow) and ``artifacts["targets"]``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.checks.common import CountingTarget, Harness, skip
from mlsiege.results import AttackResult

__all__ = ["check_sybil_budget", "check_sybils_act_only_as_themselves", "reco_attack_harness"]

N_USERS, N_ITEMS, N_SYBILS, PER_SYBIL = 60, 40, 4, 8


def _tiny_log() -> tuple[sp.csr_matrix, sp.csr_matrix]:
    rng = np.random.default_rng(11)
    topic_user = rng.integers(0, 3, N_USERS)
    topic_item = np.arange(N_ITEMS) % 3
    p = np.where(topic_user[:, None] == topic_item[None, :], 0.35, 0.04)
    matrix = sp.csr_matrix((rng.random((N_USERS, N_ITEMS)) < p).astype(np.float32) * rng.integers(1, 6, (N_USERS, N_ITEMS)))
    follows = sp.csr_matrix((rng.random((N_USERS, N_USERS)) < 0.05).astype(np.float32))
    follows.setdiag(0)
    follows.eliminate_zeros()
    return matrix, follows


def _popular(users: np.ndarray, k: int) -> np.ndarray:
    return np.tile(np.arange(k), (len(users), 1))


def reco_attack_harness() -> Harness:
    matrix, follows = _tiny_log()
    audience = np.zeros(N_USERS, dtype=bool)
    audience[::2] = True

    def data() -> dict[str, Any]:
        return {"interactions": matrix.copy(), "follows": follows.copy(), "audience": audience.copy(), "targets": np.array([37, 38])}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(
            d["interactions"], targets=d["targets"], n_sybils=N_SYBILS, engagements_per_sybil=PER_SYBIL,
            audience=d["audience"], follows=d["follows"], recommender=target, seed=seed,
        )

    return Harness(
        "reco_attack", run, data, lambda: CountingTarget(_popular, "recommender"), budget=30,
        extra={"checks": (check_sybil_budget, check_sybils_act_only_as_themselves)},
    )


def check_sybil_budget(component: Any, harness: Harness) -> None:
    """Exactly ``n_sybils`` accounts, no more than ``engagements_per_sybil`` engagements each,
    every target engaged by the sybils, nothing outside the item range."""
    _, target = harness.target()
    d = harness.data()
    result = harness.run(component, target, d, 0)
    assert isinstance(result, AttackResult), f"{component.__name__} returned {type(result).__name__}, not AttackResult"
    rows = sp.csr_matrix(result.artifacts["sybil_interactions"])
    name = component.__name__
    assert rows.shape == (N_SYBILS, N_ITEMS), f"{name} returned sybil rows of shape {rows.shape}, expected {(N_SYBILS, N_ITEMS)}"
    per_row = np.diff(rows.indptr)
    assert per_row.max() <= PER_SYBIL, f"{name} gave a sybil {per_row.max()} engagements over a budget of {PER_SYBIL}"
    engaged = np.asarray(rows[:, d["targets"]].getnnz(axis=0)).ravel()
    missed = [int(t) for t, n in zip(d["targets"], engaged, strict=True) if n == 0]
    assert not missed, f"{name}'s sybils never engaged the target(s) {missed} of {d['targets'].tolist()}"
    assert rows.indices.min(initial=0) >= 0 and rows.indices.max(initial=0) < N_ITEMS, f"{name} engaged items outside the catalogue"


def check_sybils_act_only_as_themselves(component: Any, harness: Harness) -> None:
    """Follow edges start at sybil accounts only (ids ``n_users + j``) and name known accounts."""
    _, target = harness.target()
    result = harness.run(component, target, harness.data(), 0)
    edges = np.asarray(result.artifacts.get("follows", np.empty((0, 2))), dtype=np.int64).reshape(-1, 2)
    if edges.size == 0:
        skip(f"{component.__name__} made no follow edges on the tiny problem")
    name = component.__name__
    assert (edges[:, 0] >= N_USERS).all() and (edges[:, 0] < N_USERS + N_SYBILS).all(), f"{name} makes a real user follow someone"
    assert (edges[:, 1] >= 0).all() and (edges[:, 1] < N_USERS + N_SYBILS).all(), f"{name} follows an unknown account"
