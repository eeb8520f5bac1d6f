"""Flagship B end to end: sybils ride a social feed's own engagement loop, and what stops them.

One simulated platform (:mod:`mlsiege.sim.feed`, the ``social`` recommender: a random walk over
engagements and follows) runs clean, then against each attacker variant
(:mod:`.feed_variants`), then against each variant again with each platform mitigation in place
from the first round (:mod:`.feed_mitigations`). Every run has the same seed, so the clean
platform is the same everywhere. The payload holds:

* ``summary``: ``exposure_clean`` / ``exposure_attacked`` (the targets' hit ratio in the
  timelines of the target audience, real users who had not engaged with them yet, averaged over
  the rounds) and ``amplification`` (extra target impressions in real timelines per sybil
  engagement) for the default attacker;
* ``rounds`` and ``cascade``: how exposure spreads, round by round and through the follow graph
  (:mod:`.feed_cascade`);
* ``attacker_variants``: each variant's exposure, amplification and reach;
* ``mitigations``: per variant ``exposure_reduction`` (relative), ``utility_loss`` (relative
  drop of real users' expected engagements with non-target items, the simulator's ground truth
  of their next engagements), ``sybils_flagged`` and ``real_flagged``;
* ``atlas`` per attack step and ``what_to_do``, computed from the figures.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.scenarios.feed_cascade import CascadeRecorder
from mlsiege.scenarios.feed_injection import _hold_out, plant_targets
from mlsiege.scenarios.feed_mitigations import MITIGATIONS, build_view
from mlsiege.scenarios.feed_variants import VARIANTS, plan_variant
from mlsiege.sim.feed import FeedConfig, initial_history, make_population, run_rounds

__all__ = ["ATLAS_STEPS", "FeedDemoConfig", "run_feed_demo"]

REPORT_VERSION = 1

#: the attack's steps, their ATLAS techniques, and which of the demo's mitigations answer each
ATLAS_STEPS: tuple[dict[str, Any], ...] = (
    {"step": "rent or buy accounts", "techniques": ("AML.T0021", "AML.T0008"), "mitigations": ("cohort-caps", "caps-and-reciprocity")},
    {"step": "follow the audience (follow-back bait)", "techniques": ("AML.T0021",), "mitigations": ("trust-weighted", "caps-and-reciprocity")},
    {"step": "engage with the targets through the platform's own function", "techniques": ("AML.T0043", "AML.T0020"),
     "mitigations": ("detect-retrain", "ensemble-retrain", "cohort-caps", "trust-weighted", "caps-and-reciprocity")},
    {"step": "the recommender retrains on the engagement (feedback loop)", "techniques": ("AML.T0020", "AML.T0031"),
     "mitigations": ("detect-retrain", "ensemble-retrain", "trust-weighted", "cohort-caps", "caps-and-reciprocity")},
    {"step": "real users engage and carry the targets to their followers", "techniques": ("AML.T0031", "AML.T0048"),
     "mitigations": ()},
)

#: what counts as a mitigation that holds (the issue's bar)
HOLDS = {"exposure_reduction": 0.8, "utility_loss": 0.02}


@dataclass(frozen=True)
class FeedDemoConfig:
    """The demo's platform and attacker (defaults: a mid-size community on a social feed, a week).

    The attacker rents ``sybil_fraction`` of the platform's accounts (1%: 20 accounts on 2,000
    users), each spending ``engagements_per_sybil`` likes a day and following
    ``follows_per_sybil`` audience members: a small, cheap campaign (engagement pods and
    like-farms sell at this scale). Exposure is measured on the ``audience_quantile`` top of
    users by interest in the targets' topic.
    """

    users: int = 2000
    items: int = 1500
    rounds: int = 7
    timeline_k: int = 20
    recommender: str = "social"
    sybil_fraction: float = 0.01
    engagements_per_sybil: int = 10
    follows_per_sybil: int = 20
    n_targets: int = 3
    audience_quantile: float = 0.8
    variants: tuple[str, ...] = ("pod", "aged", "mimicry")
    mitigations: tuple[str, ...] = ("detect-retrain", "ensemble-retrain", "trust-weighted", "cohort-caps", "caps-and-reciprocity")
    fpr_budget: float = 0.005
    seed: int = 0
    workers: int = 2

    def __post_init__(self) -> None:
        if not 0.0 < self.sybil_fraction < 0.5:
            raise ConfigError(f"sybil_fraction must be in (0, 0.5), got {self.sybil_fraction}")
        if self.workers < 1:
            raise ConfigError(f"workers must be >= 1, got {self.workers}")
        if self.engagements_per_sybil <= self.n_targets:
            raise ConfigError("engagements_per_sybil must exceed n_targets")
        unknown = [v for v in self.variants if v not in VARIANTS]
        if unknown or not self.variants:
            raise ConfigError(f"unknown attacker variants {unknown}; choose from {', '.join(VARIANTS)}")
        unknown = [m for m in self.mitigations if m not in MITIGATIONS]
        if unknown:
            raise ConfigError(f"unknown mitigations {unknown}; choose from {', '.join(MITIGATIONS)}")
        FeedConfig(n_users=self.users, n_items=self.items, rounds=self.rounds, timeline_k=self.timeline_k)

    @classmethod
    def small(cls, **overrides: Any) -> FeedDemoConfig:
        """A fast configuration for tests and a quick look (400 users, 300 posts, 3 days)."""
        base = {"users": 400, "items": 300, "rounds": 3, "sybil_fraction": 0.02}
        return cls(**{**base, **overrides})

    def feed(self) -> FeedConfig:
        return FeedConfig(n_users=self.users, n_items=self.items, rounds=self.rounds, timeline_k=self.timeline_k)


@dataclass(frozen=True)
class _World:
    pop: Any
    targets: np.ndarray
    audience: np.ndarray
    held: tuple[np.ndarray, np.ndarray]
    held_matrix: sp.csr_matrix
    initial: sp.csr_matrix
    n_sybils: int


def _world(cfg: FeedDemoConfig) -> _World:
    feed = cfg.feed()
    pop = make_population(feed, cfg.seed)
    pop, targets, audience = plant_targets(pop, cfg.n_targets, cfg.audience_quantile, cfg.seed)
    held = _hold_out(pop, feed, cfg.seed)
    n = pop.n_users
    held_matrix = sp.csr_matrix((np.ones(held[0].size), held), shape=(n, pop.n_items))
    u, i, _ = initial_history(pop, feed, np.random.default_rng([cfg.seed, 0]))
    initial = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=(n, pop.n_items))
    initial.data[:] = 1.0
    return _World(pop, targets, audience, held, held_matrix, initial, max(1, int(round(cfg.sybil_fraction * n))))


def _recommender(cfg: FeedDemoConfig, weighted: bool) -> Callable[[], Any]:
    from mlsiege.targets.recommenders import SocialConfig, SocialRecommender, make_recommender

    if cfg.recommender == "social":
        return lambda: SocialRecommender(SocialConfig(weighted=weighted))
    return lambda: make_recommender(cfg.recommender, seed=cfg.seed)


def _play(cfg: FeedDemoConfig, world: _World, variant: str | None, mitigation: str | None,
          reference: dict[int, dict[str, Any]] | None = None) -> dict[str, Any]:
    """One simulated week; returns per-round records, the cascade, flagged accounts and the log."""
    rec = CascadeRecorder(world.pop.n_users, world.targets, world.audience, world.held_matrix)
    plan = None
    attack_results: list[Any] = []
    if variant is not None:
        plan = plan_variant(VARIANTS[variant], initial=world.initial, targets=world.targets, audience=world.audience,
                            follows=world.pop.follows, n_sybils=world.n_sybils, engagements_per_sybil=cfg.engagements_per_sybil,
                            follows_per_sybil=cfg.follows_per_sybil, seed=cfg.seed, record=attack_results)
    view = None
    if mitigation is not None:
        view = build_view(mitigation, n_real=world.pop.n_users, reference=reference, fpr_budget=cfg.fpr_budget, seed=cfg.seed)
    snapshots: dict[int, dict[str, Any]] = {}
    train_view = view
    if reference is None and mitigation is None and variant is None:
        def train_view(r: int, engaged: sp.csr_matrix, timestamps: sp.csr_matrix, follows: sp.csr_matrix) -> sp.csr_matrix:
            snapshots[r] = {"interactions": engaged, "timestamps": timestamps, "follows": follows}
            return engaged
    log, follows = run_rounds(
        world.pop, cfg.feed(), _recommender(cfg, weighted=mitigation is not None), seed=cfg.seed, n_sybils=world.n_sybils,
        sybil_step=plan.step if plan else None, sybil_history=plan.history if plan else None, hold_out=world.held,
        train_view=train_view, on_round=rec.on_round, on_engage=rec.on_engage,
    )
    return {"rounds": rec.rounds, "cascade": rec.tree(), "flagged": None if view is None else view.flagged,
            "snapshots": snapshots, "attack": attack_results[0].attack if attack_results else None,
            "final": None if mitigation is not None else _final_log(log, follows, world.pop.n_items)}


def _final_log(log: Any, follows: sp.csr_matrix, n_items: int) -> dict[str, sp.csr_matrix]:
    n_acc = follows.shape[0]
    return {"interactions": log.matrix(n_acc, n_items), "timestamps": log.timestamps(n_acc), "follows": follows}


def _after_the_fact(cfg: FeedDemoConfig, world: _World, run: dict[str, Any]) -> dict[str, Any]:
    """Perfect detection a week late: retrain once on the final log without every sybil.

    Uses :func:`mlsiege.defenses.reco.mitigation.measure_mitigation` with the true sybil mask,
    so whatever exposure is left is carried by real users' engagements alone.
    """
    from mlsiege.defenses.reco.mitigation import measure_mitigation

    final = run["final"]
    n_acc = final["interactions"].shape[0]
    is_sybil = np.arange(n_acc) >= world.pop.n_users
    res = measure_mitigation(final["interactions"], timestamps=final["timestamps"], follows=final["follows"], is_sybil=is_sybil,
                             targets=world.targets, audience=np.flatnonzero(world.audience), flagged=is_sybil,
                             recommender=_recommender(cfg, weighted=False), k=cfg.timeline_k, seed=cfg.seed)
    return {"exposure_attacked": res.exposure_attacked, "exposure_all_sybils_removed": res.exposure_mitigated,
            "exposure_reduction": res.exposure_reduction, "sybils_removed": int(is_sybil.sum()),
            "utility_loss": res.utility_loss}


def _label(task: tuple[str | None, str | None]) -> str:
    variant, mitigation = task
    who = VARIANTS[variant].name if variant else "the clean platform"
    return f"attacker: {who}" if mitigation is None else f"mitigation: {MITIGATIONS[mitigation].name} vs {who}"


def _run_all(cfg: FeedDemoConfig, world: _World, reference: dict[int, dict[str, Any]],
             tasks: list[tuple[str | None, str | None]], say: Callable[[str], None]) -> list[dict[str, Any]]:
    """Every (variant, mitigation) run; in ``cfg.workers`` forked processes when more than one.

    Each run has its own seeds, so the result does not depend on the number of workers.
    """
    import multiprocessing as mp
    from concurrent.futures import ProcessPoolExecutor

    if cfg.workers <= 1 or len(tasks) < 2 or "fork" not in mp.get_all_start_methods():
        out = []
        for task in tasks:
            say(_label(task))
            out.append(_play(cfg, world, *task, reference))
        return out
    global _SHARED
    _SHARED = (cfg, world, reference)  # inherited by the forked workers, never pickled
    try:
        with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=mp.get_context("fork")) as pool:
            futures = [pool.submit(_play_shared, task) for task in tasks]
            out = []
            for task, future in zip(tasks, futures, strict=True):
                say(_label(task))
                out.append(future.result())
            return out
    finally:
        _SHARED = None


_SHARED: tuple[FeedDemoConfig, _World, dict[int, dict[str, Any]]] | None = None


def _play_shared(task: tuple[str | None, str | None]) -> dict[str, Any]:
    cfg, world, reference = _SHARED
    return _play(cfg, world, *task, reference)


def _mean(rounds: list[dict[str, Any]], key: str) -> float:
    return float(np.mean([r[key] for r in rounds])) if rounds else 0.0


def _amplification(attacked: list[dict[str, Any]], clean: list[dict[str, Any]]) -> float:
    extra = sum(a["impressions"] for a in attacked) - sum(c["impressions"] for c in clean)
    spent = attacked[-1]["sybil_engagements"] if attacked else 0
    return float(extra / spent) if spent > 0 else 0.0


def _variant_row(key: str, run: dict[str, Any], clean: dict[str, Any]) -> dict[str, Any]:
    v = VARIANTS[key]
    rounds = run["rounds"]
    return {
        "variant": v.name, "key": key, "description": v.description, "recipe": run["attack"],
        "account_age_days": v.account_age_days, "drip": round(v.drip, 3),
        "exposure": _mean(rounds, "exposure"), "exposure_final": rounds[-1]["exposure"],
        "reach": rounds[-1]["reach"], "amplification": _amplification(rounds, clean["rounds"]),
        "impressions": int(sum(r["impressions"] for r in rounds)),
        "real_target_engagements": rounds[-1]["real_target_engagements_total"],
        "sybil_engagements": rounds[-1]["sybil_engagements"],
    }


def _mitigation_row(key: str, variant: str, mitigated: dict[str, Any], attacked: dict[str, Any], n_real: int) -> dict[str, Any]:
    base = _mean(attacked["rounds"], "exposure")
    after = _mean(mitigated["rounds"], "exposure")
    util_before = sum(r["expected_engagements"] for r in attacked["rounds"])
    util_after = sum(r["expected_engagements"] for r in mitigated["rounds"])
    flagged = mitigated["flagged"]
    return {
        "variant": VARIANTS[variant].name, "key": variant,
        "exposure_before": base, "exposure_after": after,
        "exposure_reduction": (base - after) / base if base > 0 else 0.0,
        "utility_loss": 1.0 - util_after / util_before if util_before > 0 else 0.0,
        "sybils_flagged": int(flagged[n_real:].sum()), "sybils": int(flagged.size - n_real),
        "real_flagged": int(flagged[:n_real].sum()), "real_users": n_real,
    }


def _holds(row: dict[str, Any]) -> bool:
    return row["exposure_reduction"] >= HOLDS["exposure_reduction"] and row["utility_loss"] <= HOLDS["utility_loss"]


def _failure(r: dict[str, Any]) -> str:
    """One variant a mitigation does not stop, in words."""
    if r["exposure_reduction"] < 0:
        what = f"it raised exposure {r['exposure_after'] / r['exposure_before']:.1f}-fold"
    else:
        what = f"it cut exposure by only {r['exposure_reduction']:.0%}"
    if r["utility_loss"] > HOLDS["utility_loss"]:
        what += f" and cost {r['utility_loss']:.1%} of real users' engagement"
    hit = f", acting on {r['real_flagged']} of {r['real_users']} real users" if r["real_flagged"] > 0.05 * r["real_users"] else ""
    return f"against {r['variant']} {what}{hit}"


def _what_to_do(payload: dict[str, Any]) -> list[str]:
    """Recommendations computed from the measured figures, most important first."""
    out: list[str] = []
    s = payload["summary"]
    if s["exposure_attacked"] > max(0.05, 5 * s["exposure_clean"]):
        out.append(
            f"Treat engagement as untrusted training data: {payload['n_sybils']} rented accounts "
            f"({payload['config']['sybil_fraction']:.0%} of users) lifted the targets from {s['exposure_clean']:.1%} to "
            f"{s['exposure_attacked']:.1%} of the audience's timelines, and every sybil engagement bought "
            f"{s['amplification']:.1f} impressions in real timelines.")
    mits = payload["mitigations"]
    holding = [m for m in mits if m["holds_against_all"]]
    if holding:
        best = min(holding, key=lambda m: max(r["utility_loss"] for r in m["per_variant"]))
        worst = min(best["per_variant"], key=lambda r: r["exposure_reduction"])
        out.append(
            f"Deploy '{best['name']}' before the recommender retrains: it cut exposure by at least "
            f"{worst['exposure_reduction']:.0%} against every attacker variant (weakest: {worst['variant']}) at "
            f"{max(r['utility_loss'] for r in best['per_variant']):.1%} utility loss at most.")
    else:
        unstopped = sorted({r["variant"] for m in mits for r in m["per_variant"]} - {
            r["variant"] for m in mits for r in m["per_variant"] if _holds(r)})
        out.append("No measured mitigation holds against every variant; not stopped by any: " + (", ".join(unstopped) or "none") + ".")
    for m in mits:
        broken = [r for r in m["per_variant"] if not _holds(r)]
        if broken and not m["holds_against_all"]:
            out.append(f"Do not rely on '{m['name']}' alone: " + "; ".join(_failure(r) for r in broken) + ".")
        if m.get("knows_generator"):
            out.append(f"'{m['name']}': {m['note']}.")
    late = payload.get("after_the_fact")
    if late and late["exposure_attacked"] > 0:
        out.append(
            f"Act before the loop closes: removing all {late['sybils_removed']} sybils after the week and retraining cut "
            f"exposure by only {late['exposure_reduction']:.0%} ({late['exposure_attacked']:.1%} -> "
            f"{late['exposure_all_sybils_removed']:.1%} of audience timelines), because real users' likes now carry the targets "
            f"({payload['cascade_summary']['impressions_via_real']} of {payload['cascade_summary']['impressions']} target "
            "impressions reached a user through a real account they follow). Mitigations belong before every retrain.")
    return out


def run_feed_demo(config: FeedDemoConfig | None = None, progress: Callable[[str], None] | None = None) -> dict[str, Any]:
    """Run the demo; returns the JSON-ready payload (see the module docstring).

    ``progress(message)`` is called before each simulated run.

    References
    ----------
    Weerasinghe et al. (2020), "The pod people", WWW; Cao et al. (2012), "Aiding the detection of
    fake accounts in large scale social online services" (SybilRank), NSDI; Hooi et al. (2016),
    "FRAUDAR", KDD; Christoffel et al. (2015), "Blockbusters and wallflowers", RecSys.
    """
    cfg = config or FeedDemoConfig()
    started = time.perf_counter()
    say = progress or (lambda message: None)
    world = _world(cfg)
    n_real = world.pop.n_users
    say("clean platform")
    clean = _play(cfg, world, None, None)
    reference = clean.pop("snapshots")
    tasks = [(v, None) for v in cfg.variants] + [(v, m) for m in cfg.mitigations for v in (*cfg.variants, None)]
    results = dict(zip(tasks, _run_all(cfg, world, reference, tasks, say), strict=True))
    runs = {key: results[(key, None)] for key in cfg.variants}
    default = cfg.variants[0]
    attacked = runs[default]
    mitigations = []
    util_clean = sum(r["expected_engagements"] for r in clean["rounds"])
    for mkey in cfg.mitigations:
        m = MITIGATIONS[mkey]
        per_variant = [_mitigation_row(mkey, v, results[(v, mkey)], runs[v], n_real) for v in cfg.variants]
        clean_mitigated = results[(None, mkey)]
        mitigations.append({
            **asdict(m), "atlas": list(m.atlas), "per_variant": per_variant,
            "utility_loss_clean": 1.0 - sum(r["expected_engagements"] for r in clean_mitigated["rounds"]) / util_clean if util_clean else 0.0,
            "real_flagged_clean": int(clean_mitigated["flagged"][:n_real].sum()),
            "holds_against_all": all(_holds(r) for r in per_variant),
        })
    rounds = []
    for c, a in zip(clean["rounds"], attacked["rounds"], strict=True):
        rounds.append({**{f"{k}_attacked": v for k, v in a.items() if k != "round"},
                       **{f"{k}_clean": v for k, v in c.items() if k != "round"}, "round": a["round"]})
    not_stopped = sorted({r["variant"] for m in mitigations for r in m["per_variant"]}
                         - {r["variant"] for m in mitigations for r in m["per_variant"] if _holds(r)})
    payload: dict[str, Any] = {
        "report_version": REPORT_VERSION,
        "scenario": "feed-demo",
        "config": asdict(cfg),
        "recommender": cfg.recommender,
        "users": n_real, "items": world.pop.n_items, "n_sybils": world.n_sybils,
        "targets": world.targets.tolist(), "audience_size": int(world.audience.sum()),
        "default_attacker": VARIANTS[default].name,
        "summary": {
            "exposure_clean": _mean(clean["rounds"], "exposure"),
            "exposure_attacked": _mean(attacked["rounds"], "exposure"),
            "amplification": _amplification(attacked["rounds"], clean["rounds"]),
            "reach_clean": clean["rounds"][-1]["reach"],
            "reach_attacked": attacked["rounds"][-1]["reach"],
            "real_target_engagements": attacked["rounds"][-1]["real_target_engagements_total"],
            "mitigations_holding": [m["name"] for m in mitigations if m["holds_against_all"]],
            "variants_no_mitigation_stops": not_stopped,
        },
        "rounds": rounds,
        "cascade": attacked["cascade"],
        "cascade_summary": {
            key: int(round(sum(r[key] for r in attacked["rounds"])))
            for key in ("impressions", "impressions_via_sybil", "impressions_via_real", "impressions_collaborative",
                        "impressions_sybil_driven", "impressions_organic", "real_target_engagements_new")
        },
        "after_the_fact": _after_the_fact(cfg, world, attacked),
        "attacker_variants": [_variant_row(k, runs[k], clean) for k in cfg.variants],
        "mitigations": mitigations,
        "holds_bar": dict(HOLDS),
        "atlas": [{"step": s["step"], "techniques": list(s["techniques"]),
                   "mitigations": [MITIGATIONS[m].name for m in s["mitigations"] if m in cfg.mitigations],
                   "atlas_mitigations": sorted({a for m in s["mitigations"] if m in cfg.mitigations for a in MITIGATIONS[m].atlas})}
                  for s in ATLAS_STEPS],
        "sybil_ids_start": n_real,
    }
    payload["what_to_do"] = _what_to_do(payload)
    payload["seconds"] = round(time.perf_counter() - started, 2)
    return payload


def small_config(**overrides: Any) -> FeedDemoConfig:
    """Shortcut for :meth:`FeedDemoConfig.small`."""
    return replace(FeedDemoConfig.small(), **overrides)
