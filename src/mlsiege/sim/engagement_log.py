"""A large timestamped engagement log, generated vectorized (millions of rows in seconds).

The platform :func:`mlsiege.checks.reco_defense.planted_platform` builds loops over accounts
and stays small; this one is for scale: 10M engagements and 500k accounts in well under a
minute. Everything that makes real logs hard for coordination detectors is in it:

* accounts join over the log's life (``veteran_share`` already there when it starts), with
  log-normal activity and an onboarding burst (``onboarding`` of an account's engagements in its
  first session), the rest in sessions until the end of the log;
* items are released over the log's life, chosen by a Zipf popularity times a recency boost
  (a new release is engaged by whoever is active then), mostly within the account's topic;
* fan communities: groups of veterans engaging their creator's releases within hours of the
  release (benign coordination, labelled);
* optionally a sybil campaign on new target items, with the adaptive variants of the planted
  platform (``aged_days``, ``drip_days``, ``stagger_days``).

Times are Unix seconds (> 0). Returns a :class:`SyntheticLog`; the ``reco_defense`` detectors
take its ``interactions`` and ``timestamps``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError

__all__ = ["SyntheticLog", "synthetic_log"]

DAY = 86_400.0
HOUR = 3_600.0
EPOCH = 1.6e9


@dataclass(frozen=True)
class SyntheticLog:
    """The log and its truth: ``is_sybil`` and ``fan_group`` (-1 or the group) per account."""

    interactions: sp.csr_matrix
    timestamps: sp.csr_matrix
    is_sybil: np.ndarray
    fan_group: np.ndarray
    targets: np.ndarray


def _sample_items(rng, topic_of_draw, t, item_topic, item_pop, release, n_topics, boost=4.0, tau=30 * DAY):
    """One item per draw: within ``topic_of_draw``, by popularity times a recency boost, released before ``t``."""
    order = np.lexsort((np.arange(item_topic.size), item_topic))
    w = item_pop[order] * (1.0 + boost)  # proposal at the largest boost, then thinned
    cum = np.cumsum(w)
    bounds = np.searchsorted(item_topic[order], np.arange(n_topics + 1))
    lo = np.where(bounds[:-1] > 0, cum[np.maximum(bounds[:-1] - 1, 0)], 0.0)
    hi = cum[np.maximum(bounds[1:] - 1, 0)]
    out = np.full(t.size, -1, np.int64)
    todo = np.arange(t.size)
    for _ in range(50):
        if todo.size == 0:
            break
        k = topic_of_draw[todo]
        pos = np.searchsorted(cum, lo[k] + rng.random(todo.size) * (hi[k] - lo[k]), side="right")
        item = order[np.minimum(pos, order.size - 1)]
        age = t[todo] - release[item]
        accept = (age >= 0) & (rng.random(todo.size) < (1.0 + boost * np.exp(-np.maximum(age, 0) / tau)) / (1.0 + boost))
        out[todo[accept]] = item[accept]
        todo = todo[~accept]
    if todo.size:  # rare: nothing of the topic released yet; fall back to the oldest items
        out[todo] = rng.choice(np.flatnonzero(release <= release.min()), todo.size)
    return out


def synthetic_log(
    n_accounts: int = 50_000,
    n_engagements: int = 1_000_000,
    n_items: int | None = None,
    *,
    days: float = 365.0,
    n_topics: int = 30,
    veteran_share: float = 0.3,
    onboarding: float = 0.3,
    fan_groups: int | None = None,
    sybil_fraction: float = 0.0,
    targets: int = 0,
    aged_days: float = 0.0,
    drip_days: float = 0.0,
    stagger_days: float = 0.0,
    seed: int = 0,
) -> SyntheticLog:
    """A log of about ``n_engagements`` engagements by ``n_accounts`` real accounts (module docstring).

    Examples
    --------
    >>> log = synthetic_log(2_000, 40_000, seed=1)
    >>> log.interactions.shape[0], 25_000 < log.interactions.nnz <= 40_000
    (2000, True)
    """
    if n_accounts < 100 or n_engagements < max(1000, n_accounts):
        raise ConfigError(f"need at least 100 accounts and 1000 engagements, got {n_accounts}, {n_engagements}")
    if not 0 <= sybil_fraction < 0.5 or targets < 0 or min(aged_days, drip_days, stagger_days) < 0:
        raise ConfigError("sybil_fraction in [0, 0.5), targets >= 0, aged/drip/stagger days >= 0")
    rng = np.random.default_rng(seed)
    T = days * DAY
    n_items = n_items or max(1000, n_engagements // 100)
    # accounts
    created = np.where(rng.random(n_accounts) < veteran_share, rng.uniform(0, 3 * DAY, n_accounts), rng.uniform(0, T, n_accounts))
    mean_deg = n_engagements / n_accounts
    # activity per account, scaled by how much of the log it lives through
    deg = rng.lognormal(np.log(mean_deg) - 0.5, 1.0, n_accounts) * (T - created) / T * 2.0
    # draw a fifth more: repeats of an (account, item) pair and engagements past the log's end are dropped
    deg = np.maximum(1, np.round(deg * 1.2 * n_engagements / max(deg.sum(), 1))).astype(np.int64)
    topic = rng.integers(0, n_topics, n_accounts)
    # items
    item_topic = rng.integers(0, n_topics, n_items)
    item_pop = 1.0 / (rng.permutation(n_items) + 10.0) ** 0.9
    release = np.where(rng.random(n_items) < 0.3, 0.0, rng.uniform(0, T, n_items))
    # engagements: onboarding session, then sessions over the rest of the account's life
    user = np.repeat(np.arange(n_accounts), deg)
    first_session = rng.random(user.size) < onboarding
    first_session[np.r_[0, np.cumsum(deg)[:-1]]] = True  # every account's first engagement opens it
    life = T - created[user]
    t = np.where(first_session, created[user] + rng.uniform(0, 2 * HOUR, user.size), created[user] + rng.uniform(0, 1, user.size) * life)
    draw_topic = np.where(rng.random(user.size) < 0.75, topic[user], rng.integers(0, n_topics, user.size))
    item = _sample_items(rng, draw_topic, t, item_topic, item_pop, release, n_topics)
    t = np.maximum(t, release[item] + rng.uniform(0, HOUR, user.size))  # never before the release
    keep = t < T
    user, item, t = user[keep], item[keep], t[keep]
    pairs = np.unique(user * n_items + item, return_index=True)[1]
    if pairs.size > n_engagements:  # back to the size asked for, uniformly
        pairs = np.sort(rng.choice(pairs, n_engagements, replace=False))
    user, item, t = user[pairs], item[pairs], t[pairs]
    # fan communities: veterans engaging their creator's next releases within hours
    fan_group = np.full(n_accounts, -1)
    n_fans = fan_groups if fan_groups is not None else max(1, n_accounts // 2000)
    veterans = rng.permutation(np.flatnonzero(created < 3 * DAY))
    extra_u, extra_i, extra_t = [user], [item], [t]
    taken = 0
    for g in range(n_fans):
        size = int(rng.integers(15, 120))
        members = veterans[taken : taken + size]
        taken += size
        if members.size < 5:
            break
        fan_group[members] = g
        releases = rng.choice(np.flatnonzero(release > 0.2 * T), 4, replace=False)
        for r in releases:
            join = rng.random(members.size) < 0.8
            extra_u.append(members[join])
            extra_i.append(np.full(int(join.sum()), r))
            extra_t.append(release[r] + rng.exponential(8 * HOUR, int(join.sum())))
    user, item, t = np.concatenate(extra_u), np.concatenate(extra_i), np.concatenate(extra_t)
    # a campaign on new targets
    n_sybils = int(round(sybil_fraction * n_accounts)) if targets else 0
    target_items = np.array([], dtype=np.int64)
    if n_sybils:
        target_items = np.arange(n_items, n_items + targets)
        n_items += targets
        t_c = rng.uniform(0.7 * T, 0.9 * T) - drip_days * DAY
        born = t_c - aged_days * DAY - rng.uniform(0, max(3 * DAY, stagger_days * DAY), n_sybils)
        sy = n_accounts + np.arange(n_sybils)
        n_fill = rng.integers(5, 20, n_sybils)
        fu = np.repeat(sy, n_fill)
        ft = np.repeat(born, n_fill) + rng.uniform(0, 1, fu.size) * (t_c + drip_days * DAY - np.repeat(born, n_fill))
        ft[np.r_[0, np.cumsum(n_fill)[:-1]]] = born
        fi = _sample_items(rng, rng.integers(0, n_topics, fu.size), ft, item_topic, item_pop, release, n_topics)
        tu = np.repeat(sy, targets)
        ti = np.tile(target_items, n_sybils)
        tt = t_c + rng.uniform(0, max(12 * HOUR, drip_days * DAY), tu.size)
        user, item, t = np.r_[user, fu, tu], np.r_[item, fi, ti], np.r_[t, ft, tt]
    n_total = n_accounts + n_sybils
    # one engagement per (account, item): the first
    order = np.lexsort((t, item, user))
    user, item, t = user[order], item[order], t[order]
    first = np.r_[True, (user[1:] != user[:-1]) | (item[1:] != item[:-1])]
    user, item, t = user[first], item[first], t[first]
    shape = (n_total, n_items)
    R = sp.csr_matrix((np.ones(user.size, np.float32), (user, item)), shape=shape)
    Ts = sp.csr_matrix((t + EPOCH, (user, item)), shape=shape)
    is_sybil = np.r_[np.zeros(n_accounts, bool), np.ones(n_sybils, bool)]
    return SyntheticLog(R, Ts, is_sybil, np.r_[fan_group, np.full(n_sybils, -1)], target_items)
