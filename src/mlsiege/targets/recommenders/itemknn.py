"""Item-based k-nearest-neighbour recommender (Sarwar et al. 2001; Deshpande & Karypis 2004).

Similarity is the cosine between item columns of the binary engagement matrix, pruned to each
item's ``neighbors`` most similar items; a user's score for an item is the sum of similarities
from the items they engaged with. Everything is sparse: the item-item product is computed a block
of items at a time and pruned before the next block. When the ``implicit`` library is installed
(extra ``reco``) its multithreaded cosine kernel computes the same pruned similarity faster
(``engine="auto"``); ``engine="scipy"`` forces the pure scipy path.
"""

from __future__ import annotations

import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.extras import require
from mlsiege.targets.recommenders.serving import as_user_items, row_top_k, top_k_sparse

__all__ = ["ItemKNNConfig", "ItemKNNRecommender", "item_similarity"]


@dataclass(frozen=True)
class ItemKNNConfig:
    """``neighbors`` kept per item; ``shrink`` damps similarities built on few co-engagements."""

    neighbors: int = 20
    shrink: float = 0.0
    block: int = 512
    engine: str = "auto"

    def __post_init__(self) -> None:
        if self.engine not in ("auto", "scipy", "implicit"):
            raise ConfigError(f"engine must be auto, scipy or implicit, got {self.engine!r}")
        if self.neighbors < 1:
            raise ConfigError(f"neighbors must be >= 1, got {self.neighbors}")
        if self.shrink < 0:
            raise ConfigError(f"shrink must be >= 0, got {self.shrink}")
        if self.block < 1:
            raise ConfigError(f"block must be >= 1, got {self.block}")


def item_similarity(binary: sp.csr_matrix, config: ItemKNNConfig) -> sp.csr_matrix:
    """Pruned item-item cosine similarity (``items x items`` CSR, zero diagonal)."""
    n_items = binary.shape[1]
    counts = np.asarray(binary.sum(axis=0)).ravel().astype(np.float32)
    norms = np.sqrt(counts)
    norms[norms == 0] = 1.0
    by_item = sp.csr_matrix(binary.T, dtype=np.float32)
    k = min(config.neighbors, max(n_items - 1, 1))

    def block(start: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        stop = min(start + config.block, n_items)
        co = (by_item[start:stop] @ binary).toarray()
        co[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sim = co / (norms[start:stop, None] * norms[None, :] + config.shrink)
        part, top = row_top_k(sim, k, positive=True)
        keep = top > 0
        return np.repeat(np.arange(start, stop), keep.sum(axis=1)), part[keep], top[keep]

    # scipy.sparse and numpy release the GIL in these kernels: two threads use both cores
    with ThreadPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(block, range(0, n_items, config.block)))
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts, strict=True))
    return sp.csr_matrix((vals, (rows, cols)), shape=(n_items, n_items))


def _implicit_similarity(binary: sp.csr_matrix, neighbors: int) -> sp.csr_matrix | None:
    """The same pruned cosine from ``implicit``'s multithreaded C++ kernel, or None without it."""
    try:
        from implicit.nearest_neighbours import CosineRecommender
    except ImportError:
        return None
    model = CosineRecommender(K=neighbors + 1, num_threads=2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.fit(binary, show_progress=False)
    sim = sp.csr_matrix(model.similarity, dtype=np.float32)
    sim.setdiag(0.0)
    sim.eliminate_zeros()
    return sim


class ItemKNNRecommender:
    """Item-kNN with cosine similarity; ``recommend(users, k)`` serves unseen items.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> m = sp.csr_matrix([[1, 1, 0], [1, 1, 1], [0, 0, 1]])
    >>> ItemKNNRecommender().fit(m).recommend([0], 1).tolist()
    [[2]]
    """

    name = "item-knn"

    def __init__(self, config: ItemKNNConfig | None = None) -> None:
        self.config = config or ItemKNNConfig()

    def fit(self, interactions: object, follows: sp.spmatrix | None = None) -> ItemKNNRecommender:
        seen = as_user_items(interactions)
        binary = seen.copy()
        binary.data[:] = 1.0
        binary.eliminate_zeros()
        self.seen_ = binary
        sim = None
        if self.config.engine != "scipy" and self.config.shrink == 0.0:
            sim = _implicit_similarity(binary, self.config.neighbors)
            if sim is None and self.config.engine == "implicit":
                require("implicit", "reco")
        self.similarity_ = item_similarity(binary, self.config) if sim is None else sim
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.popularity_ = counts / max(float(counts.max(initial=0.0)), 1.0) * 0.999
        return self

    def _scores(self, users: np.ndarray) -> sp.csr_matrix:
        return self.seen_[users] @ self.similarity_

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items for each user id in ``users`` (popularity breaks ties)."""
        return top_k_sparse(self._scores, self.seen_, users, k, prior=self.popularity_)
