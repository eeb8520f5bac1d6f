"""Item-based k-nearest-neighbour recommender (Sarwar et al. 2001; Deshpande & Karypis 2004).

Similarity is the cosine between item columns of the binary engagement matrix, pruned to each
item's ``neighbors`` most similar items; a user's score for an item is the sum of similarities
from the items they engaged with. Everything is sparse: the item-item product is computed a block
of items at a time and pruned with ``argpartition`` before the next block, so one retrain at 10k
items and 1M engagements takes seconds.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders.serving import as_user_items, row_top_k, top_k

__all__ = ["ItemKNNConfig", "ItemKNNRecommender", "item_similarity"]


@dataclass(frozen=True)
class ItemKNNConfig:
    """``neighbors`` kept per item; ``shrink`` damps similarities built on few co-engagements."""

    neighbors: int = 50
    shrink: float = 0.0
    block: int = 1024

    def __post_init__(self) -> None:
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
    rows, cols, vals = [], [], []
    for start in range(0, n_items, config.block):
        stop = min(start + config.block, n_items)
        co = (by_item[start:stop] @ binary).toarray()
        co[np.arange(stop - start), np.arange(start, stop)] = 0.0
        sim = co / (norms[start:stop, None] * norms[None, :] + config.shrink)
        part, top = row_top_k(sim, k, positive=True)
        keep = top > 0
        rows.append(np.repeat(np.arange(start, stop), keep.sum(axis=1)))
        cols.append(part[keep])
        vals.append(top[keep])
    return sp.csr_matrix(
        (np.concatenate(vals), (np.concatenate(rows), np.concatenate(cols))), shape=(n_items, n_items)
    )


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
        self.similarity_ = item_similarity(binary, self.config)
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.popularity_ = counts / max(float(counts.max(initial=0.0)), 1.0) * 0.999
        return self

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return (self.seen_[users] @ self.similarity_).toarray()

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items for each user id in ``users`` (popularity breaks ties)."""
        return top_k(self._scores, self.seen_, users, k, prior=self.popularity_)
