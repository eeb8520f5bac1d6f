"""Co-engagement coordination networks (Pacheco et al. 2021)."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.flagging import account_result
from mlsiege.defenses.reco.synchrony import DAY, slot_table
from mlsiege.errors import ConfigError
from mlsiege.extras import require
from mlsiege.results import DefenseResult

__all__ = ["CoengagementConfig", "coengagement_pacheco2021", "coordination_graph"]


@dataclass(frozen=True)
class CoengagementConfig:
    """Traces are (item, ``window``) slots shared by >= ``min_shared`` accounts (``window=0``:
    items, untimed); an edge needs cosine similarity >= ``min_similarity``; a community needs
    ``min_accounts`` members to be flagged."""

    window: float = DAY
    min_shared: int = 3
    min_similarity: float = 0.5
    min_accounts: int = 5

    def __post_init__(self) -> None:
        if self.window < 0 or self.min_shared < 2 or not 0 < self.min_similarity <= 1 or self.min_accounts < 2:
            raise ConfigError(f"co-engagement needs window >= 0, min_shared >= 2, 0 < min_similarity <= 1, min_accounts >= 2; got {self}")


def coordination_graph(eng, config: CoengagementConfig) -> sp.csr_matrix:
    """Account x account cosine similarity of IDF-weighted shared traces, thresholded."""
    if config.window > 0:
        table = slot_table(eng, config.window)
        trace, crowd, n_traces = table.slot[0], table.crowd[0], table.n_slots
    else:
        trace, n_traces = eng.item, eng.n_items
        crowd = np.bincount(eng.item, minlength=eng.n_items)[eng.item]
    keep = crowd >= config.min_shared
    idf = np.log(eng.n_users / crowd[keep])
    X = sp.csr_matrix((idf, (eng.user[keep], trace[keep])), shape=(eng.n_users, n_traces))
    norms = np.sqrt(np.asarray(X.multiply(X).sum(axis=1)).ravel())
    X = sp.diags(1.0 / np.where(norms > 0, norms, 1.0)) @ X
    S = sp.csr_matrix(X @ X.T)
    S.setdiag(0.0)
    S.data[S.data < config.min_similarity] = 0.0
    S.eliminate_zeros()
    return S


def coengagement_pacheco2021(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Flag communities of a coordination network built from shared, synchronized engagement.

    D. Pacheco, P.-M. Hui, C. Torres-Lugo, B. T. Truong, A. Flammini, F. Menczer, "Uncovering
    Coordinated Networks on Social Media: Methods and Case Studies", ICWSM 2021. Accounts are
    linked when their traces (items engaged in the same time window, IDF-weighted so crowded
    traces count less) are similar; Louvain communities (networkx, extra ``graph``) of at least
    ``min_accounts`` accounts are flagged, each account scored by its community's mean internal
    similarity times the log of its size.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> res = coengagement_pacheco2021(p.interactions, timestamps=p.timestamps)
    >>> bool(res.flagged[p.is_sybil].mean() > 0.8)
    True
    """
    started = time.perf_counter()
    config = CoengagementConfig(**options)
    eng = as_engagements(interactions, timestamps if config.window > 0 else None)
    nx = require("networkx", "graph")
    S = coordination_graph(eng, config)
    coo = sp.triu(S, k=1).tocoo()
    graph = nx.Graph()
    graph.add_weighted_edges_from(zip(coo.row.tolist(), coo.col.tolist(), coo.data.tolist(), strict=True))
    communities = nx.community.louvain_communities(graph, weight="weight", seed=seed) if graph.number_of_edges() else []
    communities = sorted((sorted(c) for c in communities), key=lambda c: (-len(c), c[0]))
    scores = np.zeros(eng.n_users)
    groups = np.full(eng.n_users, -1)
    found = []
    for gid, members in enumerate(communities):
        if len(members) < config.min_accounts:
            continue
        m = np.asarray(members)
        inner = S[m][:, m]
        density = float(inner.sum()) / (len(m) * (len(m) - 1))
        scores[m] = density * np.log(len(m))
        groups[m] = gid
        found.append({"accounts": len(m), "similarity": density})
    return account_result(
        "coengagement_pacheco2021", scores, groups >= 0, groups=groups, config=asdict(config), seed=seed, started=started,
        threshold=threshold, communities=found, edges=int(coo.nnz),
    )
