"""Feed simulator: a recommender serves timelines, users engage, the recommender retrains.

Each round the recommender retrains on every engagement so far (real and sybil), serves each real
user a top-``K`` timeline of live items, and users engage with probability
``sigmoid(bias + w_interest * interest + w_social * log1p(followed accounts that engaged) +
w_group * group affinity + quality) / (1 + decay * position)``. Every engagement gets a
timestamp. Sybils (an attack's accounts) are extra rows after the real users; they engage only as
the attack says. Vectorized over users and engagements; the only Python loop is over rounds.
The engagement model follows the usual ingredients of feed simulations (position bias: Craswell
et al. 2008; social influence on engagement: Bakshy et al. 2012).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.sim.feed_population import GROUP_TYPES, FeedConfig, FeedPopulation, make_population

__all__ = [
    "GROUP_TYPES",
    "FeedConfig",
    "FeedLog",
    "FeedPopulation",
    "SybilHistory",
    "engagement_probability",
    "initial_history",
    "make_population",
    "pair_values",
    "run_rounds",
    "serve_and_engage",
]


@dataclass
class FeedLog:
    """Append-only engagement log (users may be sybils: ids >= ``n_real``)."""

    n_real: int
    n_items: int
    users: list[np.ndarray] = field(default_factory=list)
    items: list[np.ndarray] = field(default_factory=list)
    times: list[np.ndarray] = field(default_factory=list)

    def add(self, users: np.ndarray, items: np.ndarray, times: np.ndarray) -> None:
        self.users.append(np.asarray(users, dtype=np.int64))
        self.items.append(np.asarray(items, dtype=np.int64))
        self.times.append(np.asarray(times, dtype=np.float64))

    def matrix(self, n_accounts: int, n_items: int | None = None) -> sp.csr_matrix:
        """Binary ``accounts x items`` engagement matrix (the first ``n_items`` items)."""
        n_items = self.n_items if n_items is None else n_items
        u = np.concatenate(self.users) if self.users else np.empty(0, dtype=np.int64)
        i = np.concatenate(self.items) if self.items else np.empty(0, dtype=np.int64)
        keep = i < n_items
        m = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (u[keep], i[keep])), shape=(n_accounts, n_items))
        m.data[:] = 1.0
        return m

    def timestamps(self, n_accounts: int) -> sp.csr_matrix:
        """Latest timestamp per (account, item) pair, same sparsity as :meth:`matrix`."""
        u, i, t = (np.concatenate(x) for x in (self.users, self.items, self.times))
        order = np.lexsort((t, i, u))
        u, i, t = u[order], i[order], t[order]
        last = np.ones(u.size, dtype=bool)
        last[:-1] = (u[1:] != u[:-1]) | (i[1:] != i[:-1])
        return sp.csr_matrix((t[last], (u[last], i[last])), shape=(n_accounts, self.n_items))

    def __len__(self) -> int:
        return int(sum(len(u) for u in self.users))


def initial_history(pop: FeedPopulation, config: FeedConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Engagements before round 0: each user picks items posted before round 0 by interest,
    popularity and group affinity (heavy-tailed activity). Returns ``(users, items, times)``."""
    live = pop.items_live(-1)
    if live == 0:
        raise ConfigError("no item is posted before round 0: lower new_item_fraction")
    n = pop.n_users
    activity = np.clip(rng.lognormal(np.log(config.initial_engagements) - 0.5, 1.0, n), 1, live).astype(np.int64)
    users = np.repeat(np.arange(n), activity)
    # candidates: draw 4 items per slot from a popularity prior, keep the best by interest
    item_pop = (rng.pareto(1.2, live) + 1.0) * np.exp(pop.item_quality[:live])
    cands = rng.choice(live, size=(users.size, 4), p=item_pop / item_pop.sum())
    affinity = pop.interests[users[:, None], pop.item_topic[cands]]
    creator = pop.group_creator[np.maximum(pop.group_id[users], 0)] if pop.group_creator.size else np.full(users.size, -1)
    creator = np.where(pop.group_id[users] >= 0, creator, -1)
    affinity = affinity + (pop.item_creator[cands] == creator[:, None]) * 1.0 + rng.gumbel(size=cands.shape) * 0.2
    items = cands[np.arange(users.size), np.argmax(affinity, axis=1)]
    times = -config.round_seconds * rng.random(users.size) * 10.0
    return users, items, times


def pair_values(matrix: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """``matrix[rows[r, j], cols[r, j]]`` for 2-D index arrays, vectorized (0 where not stored)."""
    m = sp.csr_matrix(matrix)
    m.sum_duplicates()
    n_cols = m.shape[1]
    stored_rows = np.repeat(np.arange(m.shape[0], dtype=np.int64), np.diff(m.indptr))
    keys = stored_rows * n_cols + m.indices
    order = np.argsort(keys, kind="stable")
    keys, vals = keys[order], m.data[order]
    asked = rows.astype(np.int64) * n_cols + cols
    pos = np.clip(np.searchsorted(keys, asked), 0, max(keys.size - 1, 0))
    found = keys.size > 0
    return np.where(found & (keys[pos] == asked) if found else np.zeros(asked.shape, bool), vals[pos] if found else 0.0, 0.0)


def engagement_probability(
    pop: FeedPopulation,
    config: FeedConfig,
    timelines: np.ndarray,
    engaged: sp.csr_matrix,
    follows: sp.csr_matrix,
) -> np.ndarray:
    """Chance that each real user engages with each timeline slot (the shape of ``timelines``).

    ``engaged`` is the binary ``accounts x live items`` matrix so far and ``follows`` the
    ``accounts x accounts`` follow matrix (sybils included), so social proof counts sybils too.
    The sum of a timeline's probabilities is the user's expected engagements with it, the
    simulator's ground-truth utility of that timeline.
    """
    n_real, k = timelines.shape
    users = np.repeat(np.arange(n_real), k).reshape(n_real, k)
    interest = pop.interests[users, pop.item_topic[timelines]]
    social = pair_values(follows[:n_real] @ engaged, users, timelines)
    gid = pop.group_id[users]
    creator = np.where(gid >= 0, pop.group_creator[np.maximum(gid, 0)] if pop.group_creator.size else -1, -1)
    group = (creator >= 0) & (pop.item_creator[timelines] == creator)
    logit = config.bias + config.w_interest * interest + config.w_social * np.log1p(social) + config.w_group * group + pop.item_quality[timelines]
    position = 1.0 / (1.0 + config.position_decay * np.arange(k))
    return position[None, :] / (1.0 + np.exp(-logit))


def serve_and_engage(
    pop: FeedPopulation,
    config: FeedConfig,
    timelines: np.ndarray,
    engaged: sp.csr_matrix,
    follows: sp.csr_matrix,
    rng: np.random.Generator,
) -> np.ndarray:
    """Which timeline slots real users engage with (boolean, the shape of ``timelines``);
    each slot is drawn with :func:`engagement_probability`."""
    p = engagement_probability(pop, config, timelines, engaged, follows)
    return rng.random(p.shape) < p


@dataclass(frozen=True)
class SybilHistory:
    """What sybil accounts did before round 0 (aged accounts bought with a past).

    ``users`` are sybil indices ``0 .. n_sybils - 1``, ``items`` item ids posted before round 0
    and ``times`` seconds relative to round 0 (negative); ``follows`` an ``(m, 2)`` array of
    ``(follower, followee)`` global ids (sybil ``j`` = ``n_real + j``) made back then, which real
    users had the usual chance to follow back.
    """

    users: np.ndarray
    items: np.ndarray
    times: np.ndarray
    follows: np.ndarray = field(default_factory=lambda: np.empty((0, 2), dtype=np.int64))


#: ``train_view(round, engaged, timestamps, follows) -> matrix`` reshapes what the recommender learns
TrainView = Callable[[int, sp.csr_matrix, sp.csr_matrix, sp.csr_matrix], sp.csr_matrix]


def run_rounds(
    pop: FeedPopulation,
    config: FeedConfig,
    make_recommender: Callable[[], Any],
    *,
    seed: int = 0,
    n_sybils: int = 0,
    sybil_step: Callable[[int, sp.csr_matrix, sp.csr_matrix], tuple[sp.csr_matrix, np.ndarray]] | None = None,
    on_round: Callable[[int, np.ndarray, sp.csr_matrix, sp.csr_matrix], None] | None = None,
    hold_out: tuple[np.ndarray, np.ndarray] | None = None,
    sybil_history: SybilHistory | None = None,
    train_view: TrainView | None = None,
    on_engage: Callable[[int, np.ndarray, np.ndarray, np.ndarray], None] | None = None,
) -> tuple[FeedLog, sp.csr_matrix]:
    """Run ``config.rounds`` rounds; returns the engagement log and the final follow matrix.

    ``sybil_step(round, public_matrix, follows)`` returns the sybils' engagements for the round
    (``n_sybils x live items``) and new follow edges (global ids, sybil ``j`` = ``n_real + j``);
    real users follow back with probability ``config.follow_back``. ``sybil_history`` gives the
    sybils a past before round 0 (aged accounts). ``train_view(round, engaged, timestamps,
    follows)`` returns the matrix the recommender trains on instead of the raw log (a platform
    mitigation: detection, trust weighting, caps); it must keep the log's sparsity pattern or a
    subset of it. ``on_round(round, timelines, engaged, follows)`` observes each round
    (``engaged``: the binary log the round was served from); ``on_engage(round, timelines,
    engaged_slots, probability)`` sees which slots real users engaged with and the chance they
    had. ``hold_out`` ``(users, items)`` engagements are kept from the log (benign utility is
    measured on them). The same ``seed`` gives the same clean platform whatever the attack
    (each round draws from its own generator).
    """
    n_real = pop.n_users
    n_acc = n_real + n_sybils
    log = FeedLog(n_real=n_real, n_items=pop.n_items)
    u, i, t = initial_history(pop, config, np.random.default_rng([seed, 0]))
    if hold_out is not None:
        drop = np.isin(u * pop.n_items + i, hold_out[0] * pop.n_items + hold_out[1])
        u, i, t = u[~drop], i[~drop], t[~drop]
    log.add(u, i, t)
    follows = sp.csr_matrix((pop.follows.data, pop.follows.indices, pop.follows.indptr), shape=(n_real, n_real))
    follows = sp.block_diag([follows, sp.csr_matrix((n_sybils, n_sybils))], format="csr") if n_sybils else follows.copy()
    if sybil_history is not None and n_sybils:
        log.add(np.asarray(sybil_history.users) + n_real, sybil_history.items, sybil_history.times)
        follows = _add_follows(follows, sybil_history.follows, n_real, config.follow_back, np.random.default_rng([seed, 0, 1]))
    for r in range(config.rounds):
        live = pop.items_live(r)
        rng = np.random.default_rng([seed, r + 1])
        attack_rng = np.random.default_rng([seed, r + 1, 1])
        start = r * config.round_seconds
        if sybil_step is not None and n_sybils:
            public = log.matrix(n_acc, live)
            rows, edges = sybil_step(r, public, follows)
            rows = sp.csr_matrix(rows)
            su, si = rows.nonzero()
            log.add(su + n_real, si, start + attack_rng.random(su.size) * config.round_seconds * 0.5)
            follows = _add_follows(follows, edges, n_real, config.follow_back, attack_rng)
        model = make_recommender()
        engaged = log.matrix(n_acc, live)
        train = engaged if train_view is None else train_view(r, engaged, _live_times(log, n_acc, live), follows)
        model.fit(train, follows)
        timelines = np.asarray(model.recommend(np.arange(n_real), min(config.timeline_k, live)))
        p = engagement_probability(pop, config, timelines, engaged, follows)
        hits = rng.random(p.shape) < p
        eu = np.repeat(np.arange(n_real), timelines.shape[1]).reshape(timelines.shape)[hits]
        log.add(eu, timelines[hits], start + config.round_seconds * (0.5 + 0.5 * rng.random(eu.size)))
        if on_round is not None:
            on_round(r, timelines, engaged, follows)
        if on_engage is not None:
            on_engage(r, timelines, hits, p)
    return log, follows


def _live_times(log: FeedLog, n_accounts: int, live: int) -> sp.csr_matrix:
    times = log.timestamps(n_accounts)
    return sp.csr_matrix(times[:, :live])


def _add_follows(follows: sp.csr_matrix, edges: np.ndarray, n_real: int, follow_back: float, rng: np.random.Generator) -> sp.csr_matrix:
    edges = np.asarray(edges, dtype=np.int64).reshape(-1, 2)
    if edges.size == 0:
        return follows
    n = follows.shape[0]
    if (edges < 0).any() or (edges >= n).any():
        raise ConfigError(f"follow edges name accounts outside 0..{n - 1}")
    back = edges[(edges[:, 1] < n_real) & (edges[:, 0] >= n_real)]
    back = back[rng.random(len(back)) < follow_back][:, ::-1]
    allowed = edges[edges[:, 0] >= n_real]  # only sybils act for the attacker
    new = np.vstack([allowed, back])
    added = sp.csr_matrix((np.ones(len(new), dtype=np.float32), (new[:, 0], new[:, 1])), shape=(n, n))
    out = (follows + added).tocsr()
    out.data[:] = 1.0
    return out
