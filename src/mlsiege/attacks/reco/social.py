"""Social-proof attacks: follow rings and engagement pods.

Both spend engagements on the targets and on audience-typical items (like audience mimicry) and
add follow edges, because a feed ranks what followed accounts engaged with higher (social proof)
and real users often follow back. Follow edges are returned as ``artifacts["follows"]``, an
``(m, 2)`` array of ``(follower, followee)`` ids where real users keep their ids and sybil ``j``
is ``n_users + j``.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.mimicry import mimic_profiles
from mlsiege.attacks.reco.profiles import (
    SybilBudget,
    assemble,
    audience_counts,
    audience_ids,
    check_targets,
    finish,
    public_matrix,
)
from mlsiege.errors import ConfigError

__all__ = ["SocialAttackConfig", "engagement_pod_weerasinghe2020", "follow_ring_ferrara2016"]


@dataclass(frozen=True)
class SocialAttackConfig:
    """``follows_per_sybil``: follow requests each sybil sends to real audience members."""

    follows_per_sybil: int = 20

    def __post_init__(self) -> None:
        if self.follows_per_sybil < 0:
            raise ConfigError(f"follows_per_sybil must be >= 0, got {self.follows_per_sybil}")


def _audience_targets_to_follow(
    rng: np.random.Generator, matrix: sp.csr_matrix, audience: np.ndarray | None, follows: Any, n_sybils: int, per_sybil: int
) -> np.ndarray:
    """Real audience members each sybil follows: active accounts first, as follow-back bait."""
    n_users = matrix.shape[0]
    ids = audience_ids(audience, n_users)
    per_sybil = min(per_sybil, ids.size)
    if per_sybil == 0:
        return np.empty((0, 2), dtype=np.int64)
    weight = np.diff(matrix.indptr)[ids].astype(float) + 1.0
    if follows is not None:  # accounts that follow many others follow back more readily
        weight = weight + np.diff(sp.csr_matrix(follows).indptr)[ids]
    keys = np.log(weight)[None, :] + rng.gumbel(size=(n_sybils, ids.size))
    picked = ids[np.argpartition(-keys, per_sybil - 1, axis=1)[:, :per_sybil]]
    src = np.repeat(n_users + np.arange(n_sybils), per_sybil)
    return np.column_stack([src, picked.ravel()])


def _run(name: str, ring: str, interactions: Any, targets: Any, n_sybils: int, engagements_per_sybil: int, audience: Any, follows: Any, seed: int, config: SocialAttackConfig) -> Any:
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    matrix = public_matrix(interactions)
    n_users = matrix.shape[0]
    budget = SybilBudget(n_sybils, engagements_per_sybil, config.follows_per_sybil + (n_sybils - 1 if ring == "clique" else 1))
    targets = check_targets(targets, matrix.shape[1], budget)
    high = float(matrix.data.max()) if matrix.nnz else 1.0
    n_fill = engagements_per_sybil - targets.size
    if ring == "clique":  # a pod engages together: every member takes the same audience favourites
        weight = audience_counts(matrix, audience).astype(float) + 1e-6 * rng.random(matrix.shape[1])
        weight[targets] = -np.inf
        shared = np.argsort(-weight, kind="stable")[:n_fill]
        fillers = np.broadcast_to(shared[weight[shared] > 0], (n_sybils, int((weight[shared] > 0).sum())))
    else:
        fillers = mimic_profiles(rng, matrix, audience, n_sybils, n_fill, targets)
    rows = assemble(matrix.shape[1], targets, fillers, target_rating=high, filler_ratings=high)
    ids = n_users + np.arange(n_sybils)
    if ring == "clique":
        a, b = np.meshgrid(ids, ids, indexing="ij")
        inner = np.column_stack([a.ravel(), b.ravel()])
        inner = inner[inner[:, 0] != inner[:, 1]]
    else:
        inner = np.column_stack([ids, np.roll(ids, -1)]) if n_sybils > 1 else np.empty((0, 2), dtype=np.int64)
    outer = _audience_targets_to_follow(rng, matrix, audience, follows, n_sybils, config.follows_per_sybil)
    edges = np.vstack([inner, outer]).astype(np.int64)
    return finish(name, rows, targets=targets, budget=budget, config=config, seed=seed, started=started, follows=edges)


def follow_ring_ferrara2016(
    interactions: Any,
    *,
    targets: Any,
    n_sybils: int,
    engagements_per_sybil: int = 30,
    audience: np.ndarray | None = None,
    follows: Any = None,
    recommender: Any = None,
    seed: int = 0,
    config: SocialAttackConfig | None = None,
) -> Any:
    """Follow ring: sybils follow each other in a ring and follow active audience members
    (follow-back bait), engaging with the targets and audience-typical items.

    Ferrara, E., Varol, O., Davis, C., Menczer, F. & Flammini, A. (2016). The rise of social
    bots. Communications of the ACM 59(7).
    """
    return _run("follow_ring_ferrara2016", "ring", interactions, targets, n_sybils, engagements_per_sybil, audience, follows, seed, config or SocialAttackConfig())


def engagement_pod_weerasinghe2020(
    interactions: Any,
    *,
    targets: Any,
    n_sybils: int,
    engagements_per_sybil: int = 30,
    audience: np.ndarray | None = None,
    follows: Any = None,
    recommender: Any = None,
    seed: int = 0,
    config: SocialAttackConfig | None = None,
) -> Any:
    """Engagement pod: every member follows every other and all engage together (the targets and
    the same audience favourites), so each target carries the whole pod's social proof; members
    also follow audience members.

    Weerasinghe, J., Flanigan, B., Stein, A., McCoy, D. & Greenstadt, R. (2020). The pod people:
    understanding manipulation of social media popularity via reciprocity abuse. WWW 2020.
    """
    return _run("engagement_pod_weerasinghe2020", "clique", interactions, targets, n_sybils, engagements_per_sybil, audience, follows, seed, config or SocialAttackConfig())
