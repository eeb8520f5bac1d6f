"""Most-popular recommender: the baseline every feed starts from."""

from __future__ import annotations

import numpy as np
import scipy.sparse as sp

from mlsiege.targets.recommenders.serving import as_user_items, top_k_sparse

__all__ = ["PopularityRecommender"]


class PopularityRecommender:
    """Recommends the items with the most engaged users, minus what a user already saw.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> m = sp.csr_matrix([[1, 1, 0], [0, 1, 0], [0, 1, 1]])
    >>> PopularityRecommender().fit(m).recommend([1], 2).tolist()
    [[0, 2]]
    """

    name = "popularity"

    def fit(self, interactions: object, follows: sp.spmatrix | None = None) -> PopularityRecommender:
        self.seen_ = as_user_items(interactions)
        counts = np.asarray((self.seen_ > 0).sum(axis=0)).ravel().astype(np.float32)
        self.popularity_ = counts / max(float(counts.max(initial=0.0)), 1.0)
        return self

    def _scores(self, users: np.ndarray) -> sp.csr_matrix:
        # no personal score: the ranking is the popularity prior alone
        return sp.csr_matrix((len(users), self.popularity_.size), dtype=np.float32)

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items for each user id in ``users``."""
        return top_k_sparse(self._scores, self.seen_, users, k, prior=self.popularity_ * 0.999)
