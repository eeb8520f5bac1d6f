"""A rating-aware victim: biased matrix factorization of explicit ratings, fitted by ALS.

``r_ui ~ mu + b_u + b_i + p_u . q_i``, fitted on the observed ratings only (Koren, Bell & Volinsky
2009, "Matrix factorization techniques for recommender systems", IEEE Computer), by alternating
ridge regressions with the regularization scaled by each row's rating count (ALS-WR: Zhou et al.
2008, "Large-scale parallel collaborative filtering for the Netflix Prize"). Unlike the
library's other recommenders it reads rating *values*, so a sybil profile's filler ratings
matter: an average attack's fillers (each item's mean) fit the model's item biases, a random
attack's (the global mean) do not. Each half-step solves every row's small system at once
(a batched ``numpy.linalg.solve``), with no Python loop over users or items.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError
from mlsiege.targets.recommenders.serving import as_user_items, top_k

__all__ = ["BiasedMF", "BiasedMFConfig"]


@dataclass(frozen=True)
class BiasedMFConfig:
    """``factors`` latent dimensions, ``regularization`` per rating (ALS-WR), ``iterations`` of
    alternating solves, ``seed`` of the initial factors."""

    factors: int = 16
    regularization: float = 0.1
    iterations: int = 10
    seed: int = 0

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1 or self.regularization <= 0:
            raise ConfigError(f"biased MF needs factors >= 1, iterations >= 1, regularization > 0; got {self}")


def _solve_rows(R: sp.csr_matrix, fixed: np.ndarray, fixed_bias: np.ndarray, mu: float, reg: float) -> tuple[np.ndarray, np.ndarray]:
    """For each row of ``R``, the ridge solution ``[p, b]`` of ``r - mu - fixed_bias ~ fixed . p + b``."""
    n_rows = R.shape[0]
    f = fixed.shape[1]
    counts = np.diff(R.indptr)
    X = np.hstack([fixed[R.indices], np.ones((R.nnz, 1))])  # nnz x (f + 1), rows in CSR order
    y = R.data - mu - fixed_bias[R.indices]
    A = np.zeros((n_rows, f + 1, f + 1))
    b = np.zeros((n_rows, f + 1))
    rated = counts > 0
    if R.nnz:
        starts = R.indptr[:-1][rated]
        A[rated] = np.add.reduceat(X[:, :, None] * X[:, None, :], starts, axis=0)
        b[rated] = np.add.reduceat(X * y[:, None], starts, axis=0)
    A += (reg * np.maximum(counts, 1))[:, None, None] * np.eye(f + 1)[None]
    sol = np.linalg.solve(A, b[:, :, None])[:, :, 0]
    sol[counts == 0] = 0.0
    return sol[:, :f], sol[:, f]


class BiasedMF:
    """Biased MF on explicit ratings; ``fit(interactions, follows=None)``, ``recommend(users, k)``.

    ``interactions`` holds rating values (any scale; 0 = not rated). Recommends each user's
    highest predicted unseen items.

    Examples
    --------
    >>> import scipy.sparse as sp
    >>> R = sp.csr_matrix([[5, 4, 0, 1], [4, 5, 0, 0], [1, 0, 5, 4], [0, 1, 4, 5]], dtype=float)
    >>> model = BiasedMF(BiasedMFConfig(factors=2, seed=0)).fit(R)
    >>> round(float(model.predict([0])[0, 0])), model.recommend([0], 1).shape
    (5, (1, 1))
    """

    name = "biased-mf"

    def __init__(self, config: BiasedMFConfig | None = None) -> None:
        self.config = config or BiasedMFConfig()

    def fit(self, interactions: object, follows: sp.spmatrix | None = None) -> BiasedMF:
        R = as_user_items(interactions).astype(np.float64)
        R.eliminate_zeros()
        cfg = self.config
        rng = np.random.default_rng(cfg.seed)
        n_users, n_items = R.shape
        self.mu_ = float(R.data.mean()) if R.nnz else 0.0
        P = rng.normal(0.0, 0.1, (n_users, cfg.factors))
        Q = rng.normal(0.0, 0.1, (n_items, cfg.factors))
        bu, bi = np.zeros(n_users), np.zeros(n_items)
        RT = sp.csr_matrix(R.T)
        for _ in range(cfg.iterations):
            P, bu = _solve_rows(R, Q, bi, self.mu_, cfg.regularization)
            Q, bi = _solve_rows(RT, P, bu, self.mu_, cfg.regularization)
        self.user_factors_, self.item_factors_, self.user_bias_, self.item_bias_ = P, Q, bu, bi
        seen = R.copy()
        seen.data[:] = 1.0
        self.seen_ = seen
        return self

    def predict(self, users: np.ndarray) -> np.ndarray:
        """Predicted ratings of every item for ``users`` (dense, ``len(users) x items``)."""
        users = np.asarray(users)
        return (self.mu_ + self.user_bias_[users, None] + self.item_bias_[None, :]
                + self.user_factors_[users] @ self.item_factors_.T)

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items by predicted rating for each user id in ``users``."""
        return top_k(self.predict, self.seen_, np.asarray(users), k, batch=1024)
