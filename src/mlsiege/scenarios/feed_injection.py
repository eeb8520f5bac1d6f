"""Flagship scenario B: sybils inject themselves into a feed through its own engagement loop.

The same platform (same seed) runs twice, clean and attacked, for ``rounds`` rounds of retrain ->
serve -> engage; the attack spends its budget each round. Per round the scenario records target
exposure (hit ratio of the targets in the timelines of real audience users who had not engaged
with them yet, and over all real users), reach (share of the audience whose timeline has shown a
target so far), target impressions, amplification (extra impressions per sybil engagement), and benign utility (recall
and NDCG of timelines on each user's held-out engagement).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.metrics.reco import (
    amplification,
    ndcg_at_k,
    recall_at_k,
    rounds_until_reach,
    target_exposure,
)
from mlsiege.sim.feed import FeedConfig, initial_history, make_population, run_rounds
from mlsiege.sim.feed_population import FeedPopulation

__all__ = ["FeedInjectionConfig", "plant_targets", "run_feed_injection"]


@dataclass(frozen=True)
class FeedInjectionConfig:
    """The attacker's goal and budget.

    ``engagements_per_sybil`` is per round; ``audience_quantile``: real users whose interest in
    the target topic is at or above this quantile form the target audience; ``reach`` the
    audience exposure that counts as "reached".
    """

    sybil_fraction: float = 0.01
    n_targets: int = 3
    engagements_per_sybil: int = 10
    audience_quantile: float = 0.8
    reach: float = 0.05

    def __post_init__(self) -> None:
        if not 0.0 < self.sybil_fraction < 1.0:
            raise ConfigError(f"sybil_fraction must be in (0, 1), got {self.sybil_fraction}")
        if self.n_targets < 1 or self.engagements_per_sybil <= self.n_targets:
            raise ConfigError("need n_targets >= 1 and engagements_per_sybil > n_targets")
        if not 0.0 <= self.audience_quantile < 1.0:
            raise ConfigError(f"audience_quantile must be in [0, 1), got {self.audience_quantile}")


def plant_targets(pop: FeedPopulation, n_targets: int, quantile: float, seed: int) -> tuple[FeedPopulation, np.ndarray, np.ndarray]:
    """The attacker's posts (items of round 0 on one topic, creator -1) and the audience mask."""
    rng = np.random.default_rng([seed, 99])
    fresh = np.flatnonzero(pop.item_round == 0)
    if fresh.size < n_targets:
        raise ConfigError(f"only {fresh.size} items are posted in round 0; need {n_targets} targets")
    topics, counts = np.unique(pop.item_topic[fresh], return_counts=True)
    topic = int(topics[np.argmax(counts)])
    pool = fresh[pop.item_topic[fresh] == topic]
    if pool.size < n_targets:
        pool = fresh
    targets = np.sort(rng.choice(pool, n_targets, replace=False))
    creator = pop.item_creator.copy()
    creator[targets] = -1
    interest = pop.interests[:, topic]
    audience = interest >= np.quantile(interest, quantile)
    return replace(pop, item_creator=creator), targets, audience


def _hold_out(pop: FeedPopulation, feed: FeedConfig, seed: int) -> tuple[np.ndarray, np.ndarray]:
    u, i, t = initial_history(pop, feed, np.random.default_rng([seed, 0]))
    order = np.lexsort((t, u))
    u, i = u[order], i[order]
    last = np.r_[u[1:] != u[:-1], True]
    first = np.r_[True, u[1:] != u[:-1]]
    keep = last & ~first  # users with at least two engagements
    return u[keep], i[keep]


def run_feed_injection(
    feed: FeedConfig,
    recipe: Callable[..., Any],
    make_recommender: Callable[[], Any],
    *,
    config: FeedInjectionConfig | None = None,
    seed: int = 0,
    defenses: dict[str, Callable[..., Any]] | None = None,
    fpr_budget: float = 0.005,
) -> dict[str, Any]:
    """Run the clean and attacked platforms and return the report payload (JSON-ready).

    ``defenses`` (name -> reco detector, see :mod:`mlsiege.defenses.reco`) are run on the
    attacked log after the last round, with thresholds set at ``fpr_budget`` on the clean run's
    log; the payload's ``defenses`` section holds exposure with and without each one.
    """
    started = time.perf_counter()
    config = config or FeedInjectionConfig()
    pop = make_population(feed, seed)
    pop, targets, audience = plant_targets(pop, config.n_targets, config.audience_quantile, seed)
    n_real = pop.n_users
    n_sybils = max(1, int(round(config.sybil_fraction * n_real)))
    held_users, held_items = _hold_out(pop, feed, seed)
    held = sp.csr_matrix((np.ones(held_users.size), (held_users, held_items)), shape=(n_real, pop.n_items))
    users = np.arange(n_real)

    def recorder(store: list[dict[str, Any]]) -> Callable[..., None]:
        reached = np.zeros(n_real, dtype=bool)

        def on_round(r: int, timelines: np.ndarray, engaged: sp.csr_matrix, follows: sp.csr_matrix) -> None:
            before = engaged[:n_real][:, targets].toarray() > 0
            eligible_aud = audience[:, None] & ~before
            reached[np.isin(timelines, targets).any(axis=1)] = True
            store.append({
                "exposure": float(target_exposure(timelines, targets, eligible=eligible_aud).mean()),
                "exposure_overall": float(target_exposure(timelines, targets, eligible=~before).mean()),
                "impressions": int(np.isin(timelines, targets).sum()),
                "reach": float(reached[audience].mean()) if audience.any() else 0.0,
                "ndcg": ndcg_at_k(timelines, held, users, timelines.shape[1]),
                "recall": recall_at_k(timelines, held, users, timelines.shape[1]),
                "sybil_engagements": int(engaged[n_real:].nnz),
                "target_engagements_real": int(before.sum()),
            })
        return on_round

    clean: list[dict[str, Any]] = []
    clean_log, clean_follows = run_rounds(pop, feed, make_recommender, seed=seed, n_sybils=n_sybils, on_round=recorder(clean), hold_out=(held_users, held_items))

    attack_results: list[Any] = []
    victim_family = getattr(make_recommender(), "name", None)  # what a gray-box attacker knows

    def sybil_step(r: int, public: sp.csr_matrix, follows: sp.csr_matrix) -> tuple[sp.csr_matrix, np.ndarray]:
        result = recipe(
            public[:n_real], targets=targets, n_sybils=n_sybils, engagements_per_sybil=config.engagements_per_sybil,
            audience=audience, follows=follows[:n_real, :n_real], recommender=victim_family, seed=seed + r,
        )
        attack_results.append(result)
        edges = result.artifacts.get("follows")
        return result.artifacts["sybil_interactions"], (edges if r == 0 and edges is not None else np.empty((0, 2)))

    attacked: list[dict[str, Any]] = []
    log, final_follows = run_rounds(pop, feed, make_recommender, seed=seed, n_sybils=n_sybils, sybil_step=sybil_step,
                        on_round=recorder(attacked), hold_out=(held_users, held_items))
    rounds = []
    cum_clean = cum_attacked = 0
    for r, (c, a) in enumerate(zip(clean, attacked, strict=True)):
        cum_clean += c["impressions"]
        cum_attacked += a["impressions"]
        rounds.append({
            "round": r + 1,
            "exposure_clean": c["exposure"], "exposure_attacked": a["exposure"],
            "exposure_overall_clean": c["exposure_overall"], "exposure_overall_attacked": a["exposure_overall"],
            "impressions_clean": c["impressions"], "impressions_attacked": a["impressions"],
            "reach_clean": c["reach"], "reach_attacked": a["reach"],
            "sybil_engagements": a["sybil_engagements"],
            "amplification": amplification(cum_attacked, cum_clean, a["sybil_engagements"]),
            "ndcg_clean": c["ndcg"], "ndcg_attacked": a["ndcg"],
            "recall_clean": c["recall"], "recall_attacked": a["recall"],
            "real_target_engagements_clean": c["target_engagements_real"],
            "real_target_engagements_attacked": a["target_engagements_real"],
        })
    exposure = np.array([r["exposure_attacked"] for r in rounds])
    labels = pop.labels(n_sybils)
    payload = {
        "scenario": "feed-injection",
        "attack": attack_results[0].attack if attack_results else None,
        "recommender": getattr(make_recommender(), "name", "custom"),
        "seed": seed,
        "feed": asdict(feed),
        "config": asdict(config),
        "users": n_real, "items": pop.n_items, "n_sybils": n_sybils,
        "targets": targets.tolist(), "audience_size": int(audience.sum()),
        "engagements": len(log),
        "rounds": rounds,
        "summary": {
            "exposure_clean_final": rounds[-1]["exposure_clean"],
            "exposure_attacked_final": rounds[-1]["exposure_attacked"],
            "exposure_attacked_round1": rounds[0]["exposure_attacked"],
            "reach_clean_final": rounds[-1]["reach_clean"],
            "reach_attacked_round1": rounds[0]["reach_attacked"],
            "reach_attacked_final": rounds[-1]["reach_attacked"],
            "rounds_until_reach": rounds_until_reach(exposure, config.reach),
            "amplification_final": rounds[-1]["amplification"],
            "ndcg_clean_final": rounds[-1]["ndcg_clean"],
            "ndcg_attacked_final": rounds[-1]["ndcg_attacked"],
        },
        "accounts": {
            "real": n_real, "sybil": n_sybils,
            "benign_group_members": {t: int((labels["group_type"] == t).sum()) for t in ("fan", "friends", "loyal")},
        },
        "seconds": time.perf_counter() - started,
    }
    # --- defenses (issue 10): screen the attacked log, retrain without flagged accounts ---
    if defenses:
        from mlsiege.defenses.reco.feed_hook import defended_exposure

        n_acc = n_real + n_sybils
        payload["defenses"] = defended_exposure(
            defenses, log.matrix(n_acc), log.timestamps(n_acc), follows=final_follows, n_real=n_real,
            make_recommender=make_recommender, targets=targets, audience=audience, k=feed.timeline_k,
            reference={"interactions": clean_log.matrix(n_acc), "timestamps": clean_log.timestamps(n_acc), "follows": clean_follows},
            fpr_budget=fpr_budget, seed=seed,
        )
        payload["seconds"] = time.perf_counter() - started
    return payload
