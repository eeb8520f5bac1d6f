"""The ``reco_defense`` family: a small social platform with a planted campaign, and its harness.

Calling convention (every recipe in :mod:`mlsiege.defenses.reco` ``__all__`` follows it)::

    detector(interactions, *, timestamps=None, follows=None, seed=0, **options) -> DefenseResult

over *accounts*: ``keep_mask`` and ``scores`` have one entry per row of ``interactions``
(higher score = more suspicious) and ``groups`` maps each flagged account to the block, group or
community it was flagged with. ``timestamps`` is a sparse matrix with the same stored entries
holding times in seconds (> 0); ``follows`` a sparse accounts x accounts matrix (``a`` follows
``b``). Detectors accept ``threshold=`` to flag exactly the accounts scoring above it (see
:func:`mlsiege.defenses.reco.flagging.fpr_threshold`).

:func:`planted_platform` builds the platform the harness, the tests and
``benchmarks/reco_detection.py`` use: real users with topical interests, sessions and a follow
graph, benign coordinated groups (fan communities rating their creator's releases within hours,
friends watching together) labelled in ``benign_group``, and optionally a sybil campaign pushing
new target items (no organic engagement), with camouflage (popular fillers rated at their mean) or audience mimicry (fillers
copied from real members of the target audience).

Adaptive attackers (``aged_days``, ``drip_days``) remove the timing signals a naive campaign
leaves: aged accounts are created months before the push and engage their fillers in sessions
over those months, at a real account's pace; a slow drip spreads each sybil's target engagements
over weeks instead of hours. Benign structures that must not be flagged: fan communities
(``fan_groups`` of ``fan_size`` veterans co-engaging their creator's releases within hours;
``fan_newcomers`` of each community joins the platform on its first release day, a real fresh
crowd) and friend groups (``friend_groups`` of 6 who follow each other and engage together).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.checks.common import Harness
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["Platform", "check_detector_flags_sybils", "planted_platform", "reco_defense_harness"]

DAY = 86_400.0
HOUR = 3_600.0
EPOCH = 1.6e9  # times are Unix seconds, so a stored time is never 0


@dataclass(frozen=True)
class Platform:
    """A synthetic engagement log with ground truth."""

    interactions: sp.csr_matrix  # accounts x items, ratings 1..5
    timestamps: sp.csr_matrix  # same stored entries, seconds
    follows: sp.csr_matrix  # accounts x accounts, a follows b
    is_sybil: np.ndarray
    benign_group: np.ndarray  # -1, or the id of the benign coordinated group of the account
    group_kind: tuple[str, ...]  # kind of each benign group: "fans" or "friends"
    targets: np.ndarray  # items the campaign pushes
    audience: np.ndarray  # real accounts in the target audience
    topic: np.ndarray  # main topic per account (-1 for sybils)


def _choose(rng: np.random.Generator, logits: np.ndarray, k: np.ndarray) -> list[np.ndarray]:
    """Sample ``k[r]`` distinct columns per row without replacement (Gumbel top-k)."""
    keys = logits + rng.gumbel(size=logits.shape)
    order = np.argsort(-keys, axis=1)
    return [order[r, : k[r]] for r in range(len(k))]


def planted_platform(
    n_users: int = 2000,
    n_items: int = 800,
    *,
    sybil_fraction: float = 0.0,
    targets: int = 0,
    camouflage: bool = False,
    mimicry: bool = False,
    aged_days: float = 0.0,
    drip_days: float = 0.0,
    stagger_days: float = 0.0,
    fan_groups: int = 3,
    fan_size: int = 25,
    fan_newcomers: float = 0.0,
    friend_groups: int = 8,
    days: float = 365.0,
    seed: int = 0,
) -> Platform:
    """A platform of ``n_users`` real accounts plus ``round(sybil_fraction * n_users)`` sybils.

    ``aged_days``: sybils are created that many days before the push (0: a few days before) and
    engage their fillers in sessions over that time; ``drip_days``: each target engagement falls
    at a uniform moment of that many days (0: within 12 hours of the push); ``stagger_days``:
    accounts are created one by one over that many days (0: in a batch over 3 days), the
    adaptive step that leaves no join cohort. ``fan_newcomers``:
    share of each fan community that joins the platform on the community's first release day
    (their whole history then follows that day).

    Examples
    --------
    >>> p = planted_platform(300, 120, sybil_fraction=0.02, targets=2, aged_days=90, drip_days=21, seed=1)
    >>> first = [p.timestamps[s].data.min() for s in np.flatnonzero(p.is_sybil)]
    >>> bool(min(p.timestamps[s, p.targets].toarray().max() for s in np.flatnonzero(p.is_sybil)) - max(first) > 60 * DAY)
    True
    """
    if n_users < 50 or n_items < 50:
        raise ConfigError(f"need at least 50 users and 50 items, got {n_users} and {n_items}")
    if not 0.0 <= sybil_fraction < 0.5 or targets < 0:
        raise ConfigError(f"sybil_fraction must be in [0, 0.5) and targets >= 0, got {sybil_fraction}, {targets}")
    if min(aged_days, drip_days, stagger_days) < 0 or aged_days + drip_days + stagger_days > 0.6 * days:
        raise ConfigError(f"aged_days, drip_days and stagger_days must be >= 0 and together within 60% of the {days} days, got {aged_days}, {drip_days}, {stagger_days}")
    if fan_size < 2 or not 0.0 <= fan_newcomers < 1.0:
        raise ConfigError(f"fan_size must be >= 2 and fan_newcomers in [0, 1), got {fan_size}, {fan_newcomers}")
    rng = np.random.default_rng(seed)
    T, n_topics = days * DAY, 10
    item_topic = np.arange(n_items) % n_topics
    item_rank = rng.permutation(n_items)
    item_pop = 1.0 / (item_rank + 10.0) ** 0.9
    quality = rng.normal(3.5, 0.6, n_items)
    topic = rng.integers(0, n_topics, n_users)
    second = rng.integers(0, n_topics, n_users)
    # interest mixture: own topic, a second topic, global popularity
    mix = 0.05 * item_pop[None, :] / item_pop.sum()
    own = (item_topic[None, :] == topic[:, None]) * item_pop[None, :]
    sec = (item_topic[None, :] == second[:, None]) * item_pop[None, :]
    mix = mix + 0.75 * own / own.sum(1, keepdims=True) + 0.2 * sec / sec.sum(1, keepdims=True)
    degree = np.clip(np.exp(rng.normal(np.log(25), 0.8, n_users)), 5, min(300, n_items // 3)).astype(int)
    created = rng.uniform(0, T, n_users)
    bias = rng.normal(0, 0.4, n_users)
    rows, cols, vals, times = [], [], [], []
    for u, items in enumerate(_choose(rng, np.log(mix), degree)):
        sessions = np.concatenate([[created[u]], rng.uniform(created[u], T, rng.poisson(degree[u] / 15))])
        t = sessions[rng.integers(0, sessions.size, items.size)] + rng.uniform(0, 2 * HOUR, items.size)
        r = np.clip(np.round(quality[items] + bias[u] + rng.normal(0, 0.8, items.size)), 1, 5)
        rows.append(np.full(items.size, u)), cols.append(items), vals.append(r), times.append(t)
    log = {(int(u), int(i)): (float(r), float(t)) for a, b, c, d in zip(rows, cols, vals, times, strict=True) for u, i, r, t in zip(a, b, c, d, strict=True)}
    benign_group = np.full(n_users, -1)
    kinds: list[str] = []
    follow_pairs = _organic_follows(rng, topic, created)
    tail = np.argsort(item_pop)[: n_items // 2]  # the less popular half: creators' and targets' pool
    veterans = np.flatnonzero(created < 0.5 * T)
    free = rng.permutation(veterans)
    n_new = int(round(fan_newcomers * fan_size))
    newcomers = rng.permutation(np.setdiff1d(np.arange(n_users), veterans)) if n_new else np.array([], dtype=int)
    for _ in range(fan_groups):
        members, free = free[: fan_size - n_new], free[fan_size - n_new :]
        joiners, newcomers = newcomers[:n_new], newcomers[n_new:]
        members = np.concatenate([members, joiners])
        gid = len(kinds)
        kinds.append("fans")
        benign_group[members] = gid
        for r, release in enumerate(rng.choice(tail, 5, replace=False)):
            t0 = rng.uniform(0.55 * T, 0.98 * T)
            if r == 0 and joiners.size:
                t0 = rng.uniform(0.55 * T, 0.7 * T)
                _join_at(log, joiners, created, t0, T)
            for u in members:
                log[(int(u), int(release))] = (float(rng.integers(4, 6)), float(t0 + rng.exponential(10 * HOUR)))
        follow_pairs += [(a, b) for a in members for b in members if a != b]
    popular = np.argsort(-item_pop)[: n_items // 5]
    for _ in range(friend_groups):
        members, free = free[:6], free[6:]
        gid = len(kinds)
        kinds.append("friends")
        benign_group[members] = gid
        for _ in range(4):
            t0 = rng.uniform(0.5 * T, 0.99 * T)
            for item in rng.choice(popular, 2, replace=False):
                for u in members:
                    log[(int(u), int(item))] = (float(np.clip(np.round(quality[item] + rng.normal(0, 0.7)), 1, 5)), float(t0 + rng.uniform(-1.5, 1.5) * HOUR))
        follow_pairs += [(a, b) for a in members for b in members if a != b]
    n_sybils = int(round(sybil_fraction * n_users)) if targets else 0
    target_items = np.array([], dtype=int)
    audience = np.array([], dtype=int)
    if n_sybils and targets:
        aud_topic = int(rng.integers(0, n_topics))
        audience = np.flatnonzero(topic == aud_topic)
        in_topic = np.flatnonzero(item_topic == aud_topic)
        pool = in_topic[np.argsort(item_pop[in_topic])][: max(targets, in_topic.size // 4)]  # cold items
        target_items = rng.choice(pool, min(targets, pool.size), replace=False)
        # the campaign launches items nobody engaged with yet: all exposure they get is bought
        for key in [k for k in log if k[1] in set(target_items.tolist())]:
            del log[key]
        _plant_campaign(rng, log, follow_pairs, n_users, n_sybils, target_items, audience, quality, popular, camouflage, mimicry, T,
                        aged=aged_days * DAY, drip=drip_days * DAY, stagger=stagger_days * DAY)
    n_accounts = n_users + n_sybils
    keys = np.array(list(log.keys()), dtype=np.int64).reshape(-1, 2)
    vt = np.array(list(log.values()), dtype=float).reshape(-1, 2)
    shape = (n_accounts, n_items)
    R = sp.csr_matrix((vt[:, 0], (keys[:, 0], keys[:, 1])), shape=shape)
    Ts = sp.csr_matrix((vt[:, 1] + EPOCH, (keys[:, 0], keys[:, 1])), shape=shape)
    fp = np.array(follow_pairs, dtype=np.int64).reshape(-1, 2)
    F = sp.csr_matrix((np.ones(len(fp)), (fp[:, 0], fp[:, 1])), shape=(n_accounts, n_accounts))
    F.data[:] = 1.0
    is_sybil = np.zeros(n_accounts, bool)
    is_sybil[n_users:] = True
    return Platform(R, Ts, F, is_sybil, np.concatenate([benign_group, np.full(n_sybils, -1)]), tuple(kinds), target_items, audience, np.concatenate([topic, np.full(n_sybils, -1)]))


def _organic_follows(rng: np.random.Generator, topic: np.ndarray, created: np.ndarray) -> list[tuple[int, int]]:
    n = topic.size
    pairs = []
    by_topic = [np.flatnonzero(topic == k) for k in range(topic.max() + 1)]
    for u in range(n):
        k = rng.poisson(6)
        same = by_topic[topic[u]]
        picks = np.where(rng.random(k) < 0.7, same[rng.integers(0, same.size, k)], rng.integers(0, n, k))
        for v in picks[picks != u]:
            pairs.append((u, int(v)))
            if rng.random() < 0.5:  # about half of follows are returned
                pairs.append((int(v), u))
    return pairs


def _join_at(log: dict, users: np.ndarray, created: np.ndarray, t0: float, T: float) -> None:
    """Move each user's whole history into ``[t0, T]`` (in place): they join on ``t0``."""
    members = set(users.tolist())
    for key in [k for k in log if k[0] in members]:
        r, t = log[key]
        u = key[0]
        log[key] = (r, t0 + (t - created[u]) * (T - t0) / max(T - created[u], 1.0))
    created[users] = t0


def _plant_campaign(rng, log, follow_pairs, n_users, n_sybils, target_items, audience, quality, popular, camouflage, mimicry, T, *, aged=0.0, drip=0.0, stagger=0.0) -> None:
    """Sybil accounts that rate the targets 5 (in place): created just before a burst, or
    ``aged`` seconds before it with fillers in sessions since; targets within 12 hours, or over
    a ``drip`` of that many seconds."""
    t_c = rng.uniform(0.7 * T, 0.95 * T) - drip
    templates = rng.choice(audience, n_sybils) if audience.size else None
    real_items = {}
    if mimicry:
        for (u, i), (r, _) in log.items():
            real_items.setdefault(u, []).append((i, r))
    sybils = np.arange(n_users, n_users + n_sybils)
    for s, sybil in enumerate(sybils):
        born = t_c - aged - rng.uniform(0, max(3 * DAY, stagger))
        if mimicry and templates is not None:
            profile = real_items.get(int(templates[s]), [])
            picks = rng.permutation(len(profile))[: max(5, int(0.8 * len(profile)))]
            fillers = [profile[p] for p in picks]
        elif camouflage:
            items = rng.choice(popular, 20, replace=False)
            fillers = [(int(i), float(np.clip(np.round(quality[i]), 1, 5))) for i in items]
        else:
            items = rng.choice(popular, 3, replace=False)
            fillers = [(int(i), float(rng.integers(1, 6))) for i in items]
        if aged > 0:  # sessions over the account's life, at a real account's pace (one per ~15 engagements)
            sessions = np.concatenate([[born], rng.uniform(born, t_c + drip, rng.poisson(max(len(fillers), 1) / 15))])
            when = sessions[rng.integers(0, sessions.size, len(fillers))] + rng.uniform(0, 2 * HOUR, len(fillers))
        else:
            when = born + rng.uniform(0, 2 * DAY, len(fillers))
        for (i, r), t in zip(fillers, when, strict=True):
            log[(int(sybil), int(i))] = (r, float(t))
        for i in target_items:
            log[(int(sybil), int(i))] = (5.0, float(t_c + rng.uniform(0, max(12 * HOUR, drip))))
        others = rng.choice(sybils, min(5, n_sybils), replace=False)
        follow_pairs += [(int(sybil), int(o)) for o in others if o != sybil]
        follow_pairs += [(int(sybil), int(v)) for v in rng.choice(audience, 3)] if audience.size else []
    # a couple of real users follow back: the campaign's attack edges
    for sybil in rng.choice(sybils, min(2, n_sybils), replace=False):
        if audience.size:
            follow_pairs.append((int(rng.choice(audience)), int(sybil)))


def reco_defense_harness() -> Harness:
    """A 300-account platform with a 6-sybil campaign; the detector sees the log, never the labels."""
    platform = planted_platform(300, 120, sybil_fraction=0.02, targets=2, camouflage=True, fan_groups=1, friend_groups=2, seed=5)

    def data() -> dict[str, Any]:
        return {"interactions": platform.interactions.copy(), "timestamps": platform.timestamps.copy(), "follows": platform.follows.copy()}

    def run(detector: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return detector(d["interactions"], timestamps=d["timestamps"], follows=d["follows"], seed=seed)

    return Harness("reco_defense", run, data, None, result_type=DefenseResult,
                   extra={"checks": (check_detector_flags_sybils,)})


def _rating_pushes(seed: int = 5) -> list[tuple[str, sp.csr_matrix, np.ndarray]]:
    """Two explicit-rating logs without time or follows: the planted platform's 300 real accounts
    plus 20 classic push profiles built by the library's own recipes (Lam & Riedl 2004) for one
    rarely rated item: an average attack of 24 ratings (a real profile's length, fillers at each
    item's mean) and a random attack of 60 (half the catalogue, longer than any real profile: the
    long-filler setting of the profile-length statistics, Burke et al. 2006). Single profile
    statistics each see one of them; returns ``[(name, log, sybil mask)]``."""
    from mlsiege.attacks.reco.classic import average_attack_lam2004, random_attack_lam2004

    clean = planted_platform(300, 120, sybil_fraction=0.0, targets=0, fan_groups=0, friend_groups=0, seed=seed).interactions.tocsr()
    counts = np.diff(clean.tocsc().indptr)
    target = int(np.argsort(counts, kind="stable")[counts.size // 4])
    is_sybil = np.r_[np.zeros(clean.shape[0], bool), np.ones(20, bool)]
    out = []
    for name, recipe, length in (("average push", average_attack_lam2004, 24), ("long random push", random_attack_lam2004, 60)):
        attack = recipe(clean, targets=[target], n_sybils=20, engagements_per_sybil=length, seed=seed)
        out.append((name, sp.vstack([clean, attack.artifacts["sybil_interactions"]]).tocsr(), is_sybil))
    return out


def _recall_or_ranked(component: Any, harness: Harness, d: dict[str, Any], is_sybil: np.ndarray) -> tuple[bool, str]:
    """Did the detector flag a sybil, or score one above the threshold flagging 5% of real accounts?"""
    from mlsiege.defenses.reco.flagging import fpr_threshold

    name = component.__name__
    result = harness.run(component, None, d, 0)
    assert isinstance(result, DefenseResult), f"{name} returned {type(result).__name__}, not DefenseResult"
    flagged = ~np.asarray(result.keep_mask, dtype=bool)
    scores = np.asarray(result.scores, dtype=float)
    assert flagged.shape == is_sybil.shape == scores.shape, f"{name} returned {flagged.shape} flags for {len(is_sybil)} accounts"
    if flagged[is_sybil].any():
        return True, ""
    ranked = scores[is_sybil] > fpr_threshold(scores[~is_sybil], 0.05)
    return bool(ranked.any()), (f"flagged {int(flagged.sum())} accounts but none of the {int(is_sybil.sum())} sybils, "
                                "and scored none of them above 5% of the real accounts")


def check_detector_flags_sybils(component: Any, harness: Harness) -> None:
    """The detector catches a sybil on at least one of three tiny campaigns.

    (a) A plain timed push on the planted platform (15 sybils among 300 accounts, no camouflage,
    with follows); (b, c) classic average and random attacks on explicit-rating logs without time
    (20 profiles each, see ``_rating_pushes``), for detectors built for rating logs. Caught means flagged by its
    own rule, or ranked above the threshold that flags 5% of the real accounts (recall > 0): a
    detector whose scores say nothing about sybils on any of them fails.
    """
    plain = planted_platform(300, 120, sybil_fraction=0.05, targets=2, fan_groups=1, friend_groups=2, seed=5)
    d = {"interactions": plain.interactions.copy(), "timestamps": plain.timestamps.copy(), "follows": plain.follows.copy()}
    ok, why_timed = _recall_or_ranked(component, harness, d, plain.is_sybil)
    if ok:
        return
    why = [f"timed push: {why_timed}"]
    for name, log, is_sybil in _rating_pushes():
        ok, reason = _recall_or_ranked(component, harness, {"interactions": log, "timestamps": None, "follows": None}, is_sybil)
        if ok:
            return
        why.append(f"{name}: {reason}")
    raise AssertionError(f"{component.__name__}: recall 0 on every tiny campaign ({'; '.join(why)})")
