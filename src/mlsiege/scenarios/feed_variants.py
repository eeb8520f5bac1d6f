"""Attacker variants of the feed demo: who the sybils are and how they spend their budget.

Each variant is a plan for the simulator: an optional past for the sybil accounts
(:class:`~mlsiege.sim.feed.SybilHistory`, for accounts bought already aged) and a per-round
``sybil_step`` built from the public reco attack recipes. The three variants are the ones a
platform meets in practice (Weerasinghe et al. 2020 on engagement pods; Ferrara et al. 2016 on
social bots; Thomas et al. 2013 and the aged-account market described by DeKoven et al. 2018):

``rented pod``
    accounts created in one burst when the campaign starts; every member follows every other
    and the audience's active members, and all engage with the targets and the same audience
    favourites each round (:func:`~mlsiege.attacks.reco.engagement_pod_weerasinghe2020`).
``aged accounts, slow drip``
    accounts bought months old: each has a light history of audience-typical engagements spread
    over ``account_age_days`` and the pod's follow edges made back then (real users had months to
    follow back); during the campaign only a rotating ``drip`` share of them touches the targets
    each round, the rest keep engaging with audience favourites. A longer history costs the
    attacker reach on a random-walk feed (an account's influence is split over all it liked: 30
    past likes cut exposure about fifteenfold in our runs), so sellers' light accounts are the
    realistic threat.
``aged-ring`` (not in the demo's default set)
    the aged attacker without a pod: profile mimicry and a one-way follow ring, the case the
    reciprocity discount is blind to (docs/feed-scenario.md gives its figures).
``mimicry``
    fresh accounts, each shaped on one real audience member's profile, in a follow ring rather
    than a clique (:func:`~mlsiege.attacks.reco.follow_ring_ferrara2016`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco import engagement_pod_weerasinghe2020, follow_ring_ferrara2016
from mlsiege.attacks.reco.mimicry import mimic_profiles
from mlsiege.attacks.reco.social import SocialAttackConfig
from mlsiege.errors import ConfigError
from mlsiege.sim.feed import SybilHistory

__all__ = ["VARIANTS", "AttackerVariant", "SybilPlan", "plan_variant"]

DAY = 86_400.0

SybilStep = Callable[[int, sp.csr_matrix, sp.csr_matrix], tuple[sp.csr_matrix, np.ndarray]]


@dataclass(frozen=True)
class AttackerVariant:
    """One attacker: its accounts' age, its recipe and how fast it drips onto the targets.

    ``account_age_days`` 0 means accounts created when the campaign starts; ``drip`` is the
    share of sybils that engage with the targets in a round (the others engage with audience
    favourites only); ``history_per_sybil`` engagements make up an aged account's past.
    """

    key: str
    name: str
    description: str
    recipe: Callable[..., Any]
    account_age_days: float = 0.0
    drip: float = 1.0
    history_per_sybil: int = 0

    def __post_init__(self) -> None:
        if not 0.0 < self.drip <= 1.0:
            raise ConfigError(f"drip must be in (0, 1], got {self.drip}")
        if self.account_age_days < 0 or self.history_per_sybil < 0:
            raise ConfigError("account_age_days and history_per_sybil must be >= 0")
        if self.account_age_days > 0 and self.history_per_sybil == 0:
            raise ConfigError(f"variant {self.key!r}: aged accounts need history_per_sybil > 0")


#: the demo's attacker variants by key (the first is the default attacker)
VARIANTS: dict[str, AttackerVariant] = {
    "pod": AttackerVariant(
        "pod", "rented pod (fresh accounts)",
        "accounts created when the campaign starts; a clique that follows the audience and engages together",
        engagement_pod_weerasinghe2020),
    "aged": AttackerVariant(
        "aged", "aged accounts, slow drip",
        "accounts bought 180 days old with a light audience-like past (10 likes) and follows made back then; "
        "run as a pod, half of them touch the targets each day",
        engagement_pod_weerasinghe2020, account_age_days=180.0, drip=0.5, history_per_sybil=10),
    "aged-ring": AttackerVariant(
        "aged-ring", "aged accounts, slow drip, no pod",
        "as the aged attacker, but each account copies one audience member's profile and the accounts follow one "
        "another only in a one-way ring (no reciprocal follows); not in the demo's default set",
        follow_ring_ferrara2016, account_age_days=180.0, drip=0.5, history_per_sybil=10),
    "mimicry": AttackerVariant(
        "mimicry", "mimicry (fresh accounts)",
        "accounts created when the campaign starts, each copying one audience member's profile; a follow ring",
        follow_ring_ferrara2016),
}


@dataclass(frozen=True)
class SybilPlan:
    """What the simulator needs to play a variant."""

    history: SybilHistory | None
    step: SybilStep


def _aged_history(variant: AttackerVariant, initial: sp.csr_matrix, targets: np.ndarray, audience: np.ndarray,
                  follows: sp.csr_matrix, n_sybils: int, follows_per_sybil: int, seed: int) -> SybilHistory:
    """Months of audience-like engagements and the follow edges made back then."""
    rng = np.random.default_rng([seed, 7])
    profiles = mimic_profiles(rng, initial, audience, n_sybils, variant.history_per_sybil, np.asarray(targets))
    users = np.repeat(np.arange(n_sybils), profiles.shape[1])
    items = profiles.ravel()
    times = -DAY * (1.0 + rng.random(users.size) * (variant.account_age_days - 1.0))
    # the recipe's own follow edges (ring + audience members), made back then
    res = variant.recipe(initial, targets=targets, n_sybils=n_sybils, engagements_per_sybil=targets.size + 1, audience=audience,
                         follows=follows, seed=seed, config=SocialAttackConfig(follows_per_sybil=follows_per_sybil))
    edges = np.asarray(res.artifacts["follows"], dtype=np.int64).reshape(-1, 2)
    return SybilHistory(users=users, items=items, times=times, follows=edges)


def plan_variant(
    variant: AttackerVariant,
    *,
    initial: sp.csr_matrix,
    targets: np.ndarray,
    audience: np.ndarray,
    follows: sp.csr_matrix,
    n_sybils: int,
    engagements_per_sybil: int,
    follows_per_sybil: int,
    seed: int,
    record: list[Any] | None = None,
) -> SybilPlan:
    """The history and per-round step of ``variant`` against a platform.

    ``initial`` is the real users' engagement matrix before round 0 (what an account seller's
    accounts could have engaged with), ``follows`` the real follow graph; ``record`` (a list)
    collects each round's :class:`~mlsiege.results.AttackResult`.
    """
    n_real = initial.shape[0]
    aged = variant.account_age_days > 0
    history = _aged_history(variant, initial, targets, audience, follows, n_sybils, follows_per_sybil, seed) if aged else None
    per_round = max(1, int(np.ceil(variant.drip * n_sybils)))
    config = SocialAttackConfig(follows_per_sybil=follows_per_sybil)

    def step(r: int, public: sp.csr_matrix, graph: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        result = variant.recipe(public[:n_real], targets=targets, n_sybils=n_sybils, engagements_per_sybil=engagements_per_sybil,
                                audience=audience, follows=graph[:n_real, :n_real], seed=seed + r, config=config)
        if record is not None:
            record.append(result)
        rows = sp.csr_matrix(result.artifacts["sybil_interactions"], dtype=np.float32)
        if variant.drip < 1.0:  # only this round's share of the sybils touches the targets
            dripping = np.zeros(n_sybils, dtype=bool)
            dripping[(np.arange(per_round) + r * per_round) % n_sybils] = True
            rows = sp.lil_matrix(rows)
            rows[np.ix_(np.flatnonzero(~dripping), targets)] = 0.0
            rows = sp.csr_matrix(rows)
            rows.eliminate_zeros()
        edges = result.artifacts.get("follows")
        new_edges = edges if (r == 0 and not aged and edges is not None) else np.empty((0, 2), dtype=np.int64)
        return rows, new_edges

    return SybilPlan(history=history, step=step)
