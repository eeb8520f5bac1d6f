"""The population of the feed simulator: users, interests, follow graph, creators, items, groups.

Users hold topic interests concentrated by community; the follow graph has heavy-tailed out
degrees (log-normal) and in-degrees (Pareto "fame"), mostly within communities; creators post
items on their topics over the rounds. Benign coordinated groups are planted with ground truth:
``fan`` communities around a creator, ``friends`` cliques that follow each other and engage
together, and a creator's ``loyal`` audience. Everything is vectorized over users and edges.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mlsiege.errors import ConfigError

__all__ = ["GROUP_TYPES", "FeedConfig", "FeedPopulation", "make_population"]

GROUP_TYPES = ("none", "fan", "friends", "loyal")


@dataclass(frozen=True)
class FeedConfig:
    """Size and behaviour of the simulated platform.

    ``initial_engagements`` is the mean history per user before round 0; ``timeline_k`` the
    timeline length served each round; the ``w_*`` weights and ``bias`` set the engagement logit
    (interest match, social proof from followed accounts, group affinity); ``position_decay``
    the timeline position bias ``1 / (1 + decay * position)``; ``follow_back`` the chance a real
    user follows back an account that followed them.
    """

    n_users: int = 2000
    n_items: int = 1500
    n_topics: int = 12
    n_communities: int = 8
    rounds: int = 5
    timeline_k: int = 20
    initial_engagements: float = 20.0
    follow_mean: float = 15.0
    creator_fraction: float = 0.05
    new_item_fraction: float = 0.4
    group_fraction: float = 0.12
    w_interest: float = 5.0
    w_social: float = 1.2
    w_group: float = 2.0
    bias: float = -4.5
    position_decay: float = 0.1
    follow_back: float = 0.3
    round_seconds: float = 86_400.0

    def __post_init__(self) -> None:
        if self.n_users < 10 or self.n_items < 10:
            raise ConfigError(f"need at least 10 users and 10 items, got {self.n_users} and {self.n_items}")
        if self.rounds < 1 or self.timeline_k < 1 or self.n_topics < 1 or self.n_communities < 1:
            raise ConfigError("rounds, timeline_k, n_topics and n_communities must be >= 1")
        for name in ("creator_fraction", "new_item_fraction", "group_fraction", "follow_back"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {value}")
        if self.initial_engagements <= 0 or self.follow_mean <= 0 or self.round_seconds <= 0:
            raise ConfigError("initial_engagements, follow_mean and round_seconds must be > 0")


@dataclass(frozen=True)
class FeedPopulation:
    """Ground truth of the simulated platform (real users only; sybils are added by attacks).

    ``group_id`` is -1 for users in no benign coordinated group; ``group_type[g]`` and
    ``group_creator[g]`` describe group ``g``. Items are ordered by ``item_round`` (-1 = posted
    before round 0), so the items live at round ``r`` are ``0 .. items_live(r) - 1``.
    """

    interests: np.ndarray
    community: np.ndarray
    follows: sp.csr_matrix
    is_creator: np.ndarray
    item_topic: np.ndarray
    item_creator: np.ndarray
    item_round: np.ndarray
    item_quality: np.ndarray
    group_id: np.ndarray
    group_type: tuple[str, ...]
    group_creator: np.ndarray

    @property
    def n_users(self) -> int:
        return int(self.interests.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.item_topic.size)

    def items_live(self, round_index: int) -> int:
        return int(np.searchsorted(self.item_round, round_index, side="right"))

    def labels(self, n_sybils: int = 0) -> pd.DataFrame:
        """Per account ground truth for defenses: ``is_sybil``, ``group_id``, ``group_type``.

        Sybils come after the real users (ids ``n_users ..``) with group -1 and type ``"sybil"``.
        """
        types = np.concatenate([self.user_group_type(), np.full(n_sybils, "sybil", dtype=object)])
        return pd.DataFrame({
            "is_sybil": np.r_[np.zeros(self.n_users, bool), np.ones(n_sybils, bool)],
            "group_id": np.r_[self.group_id, np.full(n_sybils, -1)],
            "group_type": types,
            "community": np.r_[self.community, np.full(n_sybils, -1)],
        })

    def user_group_type(self) -> np.ndarray:
        """Per user: ``"none"`` or the type of its benign group."""
        types = np.asarray(("none",) + self.group_type, dtype=object)
        return types[self.group_id + 1]


def _sample_in_community(rng: np.random.Generator, community: np.ndarray, weight: np.ndarray, source_comm: np.ndarray) -> np.ndarray:
    """One user per entry of ``source_comm``, from that community, with probability ~ ``weight``."""
    order = np.argsort(community, kind="stable")
    cum = np.cumsum(weight[order])
    bounds = np.searchsorted(community[order], np.arange(community.max() + 2))
    lo = np.where(bounds[source_comm] > 0, cum[np.maximum(bounds[source_comm] - 1, 0)], 0.0)
    hi = cum[bounds[source_comm + 1] - 1]
    pos = np.searchsorted(cum, lo + rng.random(source_comm.size) * (hi - lo), side="right")
    return order[np.minimum(pos, order.size - 1)]


def make_population(config: FeedConfig, seed: int = 0) -> FeedPopulation:
    """Draw a platform: interests, follow graph, creators, items and benign groups."""
    rng = np.random.default_rng(seed)
    n, c = config.n_users, config.n_communities
    community = rng.integers(0, c, n)
    community_topics = rng.dirichlet(np.full(config.n_topics, 0.3), size=c)
    interests = rng.dirichlet(np.full(config.n_topics, 0.2), size=n) * 0.5 + community_topics[community] * 0.5
    interests = interests / interests.max(axis=1, keepdims=True)
    fame = rng.pareto(1.3, n) + 1.0
    is_creator = rng.random(n) < config.creator_fraction
    is_creator[np.argmax(fame)] = True
    fame[is_creator] *= 10.0

    # follow graph: log-normal out-degree, Pareto fame in-degree, 80% within the community
    out_deg = np.clip(rng.lognormal(np.log(config.follow_mean) - 0.5, 1.0, n), 1, max(2, n // 4)).astype(np.int64)
    src = np.repeat(np.arange(n), out_deg)
    inside = rng.random(src.size) < 0.8
    dst = np.empty_like(src)
    dst[inside] = _sample_in_community(rng, community, fame, community[src[inside]])
    p = fame / fame.sum()
    dst[~inside] = rng.choice(n, int((~inside).sum()), p=p)

    # items, ordered by posting round
    creators = np.flatnonzero(is_creator)
    item_creator = rng.choice(creators, config.n_items, p=fame[creators] / fame[creators].sum())
    main_topic = np.argmax(interests, axis=1)
    item_topic = np.where(rng.random(config.n_items) < 0.8, main_topic[item_creator], rng.integers(0, config.n_topics, config.n_items))
    new = rng.random(config.n_items) < config.new_item_fraction
    item_round = np.where(new, rng.integers(0, config.rounds, config.n_items), -1)
    order = np.argsort(item_round, kind="stable")
    item_creator, item_topic, item_round = item_creator[order], item_topic[order], item_round[order]
    item_quality = rng.normal(0.0, 0.5, config.n_items)

    # benign coordinated groups
    group_id = np.full(n, -1, dtype=np.int64)
    types: list[str] = []
    group_creator: list[int] = []
    extra_src: list[np.ndarray] = []
    extra_dst: list[np.ndarray] = []
    budget = int(config.group_fraction * n)
    free = rng.permutation(np.flatnonzero(~is_creator))
    taken = 0
    kinds = ("fan", "friends", "loyal")
    while taken < budget and taken < free.size:
        kind = kinds[len(types) % 3]
        size = int(rng.integers(3, 7)) if kind == "friends" else int(rng.integers(10, 31))
        members = free[taken : taken + size]
        taken += members.size
        g = len(types)
        group_id[members] = g
        types.append(kind)
        if kind == "friends":
            a, b = np.meshgrid(members, members, indexing="ij")
            mask = a != b
            extra_src.append(a[mask])
            extra_dst.append(b[mask])
            group_creator.append(-1)
        else:
            creator = int(rng.choice(creators, p=fame[creators] / fame[creators].sum()))
            extra_src.append(members)
            extra_dst.append(np.full(members.size, creator))
            group_creator.append(creator)
    src = np.concatenate([src, *extra_src])
    dst = np.concatenate([dst, *extra_dst])
    keep = src != dst
    follows = sp.csr_matrix((np.ones(int(keep.sum()), dtype=np.float32), (src[keep], dst[keep])), shape=(n, n))
    follows.data[:] = 1.0
    return FeedPopulation(
        interests=interests.astype(np.float32),
        community=community,
        follows=follows,
        is_creator=is_creator,
        item_topic=item_topic,
        item_creator=item_creator,
        item_round=item_round,
        item_quality=item_quality,
        group_id=group_id,
        group_type=tuple(types),
        group_creator=np.asarray(group_creator, dtype=np.int64),
    )
