"""Social/graph recommender: short random walks over user-item and follow edges.

Scores follow the spirit of random-walk recommenders on the user-item graph (Fouss et al. 2007;
Christoffel et al. 2015, P3-alpha) extended with follow edges as in social feeds: a walk from a
user either goes user -> item -> user -> item (collaborative) or user -> followed account ->
item (social proof), mixed by ``social_weight``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders.serving import as_user_items, top_k

__all__ = ["SocialConfig", "SocialRecommender"]


@dataclass(frozen=True)
class SocialConfig:
    """``social_weight`` in [0, 1]: share of the walk that follows follow edges."""

    social_weight: float = 0.3

    def __post_init__(self) -> None:
        if not 0.0 <= self.social_weight <= 1.0:
            raise ConfigError(f"social_weight must be in [0, 1], got {self.social_weight}")


def _row_normalize(m: sp.csr_matrix) -> sp.csr_matrix:
    sums = np.asarray(m.sum(axis=1)).ravel()
    sums[sums == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / sums) @ m, dtype=np.float32)


class SocialRecommender:
    """Random-walk scores over user-item-follow edges; ``fit(interactions, follows)``.

    ``follows`` is a ``users x users`` sparse matrix (row follows column); without it the walk is
    purely collaborative.
    """

    name = "social"

    def __init__(self, config: SocialConfig | None = None) -> None:
        self.config = config or SocialConfig()

    def fit(self, interactions: object, follows: sp.spmatrix | None = None) -> SocialRecommender:
        seen = as_user_items(interactions)
        binary = seen.copy()
        binary.data[:] = 1.0
        self.seen_ = binary
        n_users = binary.shape[0]
        self.user_to_item_ = _row_normalize(binary)
        self.item_to_user_ = _row_normalize(sp.csr_matrix(binary.T))
        if follows is None:
            follows = sp.csr_matrix((n_users, n_users), dtype=np.float32)
        follows = sp.csr_matrix(follows, dtype=np.float32)
        if follows.shape != (n_users, n_users):
            raise ConfigError(f"follows must be {n_users} x {n_users}, got {follows.shape}")
        self.follow_walk_ = _row_normalize(follows)
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.popularity_ = counts / max(float(counts.max(initial=0.0)), 1.0) * 0.999
        return self

    def _scores(self, users: np.ndarray) -> np.ndarray:
        start = self.user_to_item_[users]
        collaborative = (start @ self.item_to_user_) @ self.user_to_item_
        social = self.follow_walk_[users] @ self.user_to_item_
        w = self.config.social_weight
        return ((1.0 - w) * collaborative + w * social).toarray()

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items for each user id in ``users``."""
        return top_k(self._scores, self.seen_, users, k, prior=self.popularity_, batch=512)
