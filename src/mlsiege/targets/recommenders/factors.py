"""Matrix-factorization recommenders from the ``implicit`` library (extra ``reco``).

ALS follows Hu, Koren & Volinsky (2008), *Collaborative Filtering for Implicit Feedback
Datasets*; BPR follows Rendle et al. (2009), *BPR: Bayesian Personalized Ranking from Implicit
Feedback*. ``implicit`` is imported only when a model is fitted.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from threadpoolctl import threadpool_limits

from mlsiege.errors import ConfigError, TargetRaisedError
from mlsiege.extras import require
from mlsiege.targets.recommenders.serving import as_user_items, top_k

__all__ = ["FactorConfig", "ImplicitRecommender", "als", "bpr"]


@dataclass(frozen=True)
class FactorConfig:
    """Hyper-parameters shared by ALS and BPR.

    ``threads``: 0 means every core; ``None`` (default) means every core for ALS (its solves are
    independent per row, so the result does not depend on the thread count) and one for BPR,
    whose multi-threaded SGD in ``implicit`` is lock-free (Hogwild) and so not reproducible from
    its seed; one thread costs time (one fit on 1M engagements: 68 s against 42 s on 2 cores,
    docs/benchmarks.md).
    """

    factors: int = 64
    iterations: int = 15
    regularization: float = 0.01
    learning_rate: float = 0.05
    alpha: float = 1.0
    threads: int | None = None

    def __post_init__(self) -> None:
        if self.factors < 1 or self.iterations < 1:
            raise ConfigError(f"factors and iterations must be >= 1, got {self.factors}, {self.iterations}")
        if self.threads is not None and self.threads < 0:
            raise ConfigError(f"threads must be >= 0 or None, got {self.threads}")
        if self.regularization < 0 or self.learning_rate <= 0 or self.alpha <= 0:
            raise ConfigError("regularization must be >= 0, learning_rate and alpha > 0")


#: per-kind defaults, chosen by benign held-out recall@50 and NDCG@10 on the synthetic feed
#: platform and a 100k-engagement MovieLens-format log (docs/benchmarks.md): ALS needs heavy L2
#: on binary engagement (regularization 0.01 scored below popularity); BPR keeps implicit's own
#: learning rate and epochs (0.05 x 50 epochs did not converge)
DEFAULTS = {
    "als": FactorConfig(factors=32, iterations=15, regularization=10.0),
    "bpr": FactorConfig(factors=64, iterations=100, regularization=0.01, learning_rate=0.01),
}


class ImplicitRecommender:
    """An ``implicit`` model (``kind`` ``"als"`` or ``"bpr"``) served with exact top-k; without a
    ``config`` it takes the kind's :data:`DEFAULTS`.

    Scores are the dot products of user and item factors; items a user engaged with are masked.
    """

    def __init__(self, kind: str = "als", config: FactorConfig | None = None, *, seed: int = 0) -> None:
        if kind not in ("als", "bpr"):
            raise ConfigError(f"kind must be 'als' or 'bpr', got {kind!r}")
        self.kind = kind
        self.name = kind
        self.config = config or DEFAULTS[kind]
        self.seed = seed

    def _model(self) -> object:
        c = self.config
        if self.kind == "als":
            als_mod = require("implicit.cpu.als", "reco", package="implicit")
            return als_mod.AlternatingLeastSquares(
                factors=c.factors, regularization=c.regularization, alpha=c.alpha,
                iterations=c.iterations, num_threads=c.threads or 0, random_state=self.seed,
            )
        bpr_mod = require("implicit.cpu.bpr", "reco", package="implicit")
        return bpr_mod.BayesianPersonalizedRanking(
            factors=c.factors, learning_rate=c.learning_rate, regularization=c.regularization,
            iterations=c.iterations, num_threads=1 if c.threads is None else c.threads,
            random_state=self.seed,
        )

    def fit(self, interactions: object, follows: sp.spmatrix | None = None) -> ImplicitRecommender:
        seen = as_user_items(interactions)
        binary = seen.copy()
        binary.data[:] = 1.0
        self.seen_ = binary
        try:
            # implicit runs its own threads; a threaded BLAS underneath oversubscribes the cores
            with warnings.catch_warnings(), threadpool_limits(1, "blas"):
                warnings.simplefilter("ignore", RuntimeWarning)
                model = self._model()
                model.fit(binary, show_progress=False)
        except Exception as exc:  # foreign code: name it, keep the cause
            raise TargetRaisedError(f"implicit {self.kind} fit raised {type(exc).__name__}: {exc}") from exc
        self.user_factors_ = np.asarray(model.user_factors, dtype=np.float32)
        self.item_factors_ = np.asarray(model.item_factors, dtype=np.float32)
        counts = np.asarray(binary.sum(axis=0)).ravel()
        self.popularity_ = counts / max(float(counts.max(initial=0.0)), 1.0) * 0.999
        return self

    def _scores(self, users: np.ndarray) -> np.ndarray:
        return self.user_factors_[users] @ self.item_factors_.T

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        """Top-``k`` unseen items for each user id in ``users``."""
        return top_k(self._scores, self.seen_, users, k, prior=self.popularity_)


def als(config: FactorConfig | None = None, *, seed: int = 0) -> ImplicitRecommender:
    """Implicit-feedback ALS (Hu, Koren & Volinsky 2008)."""
    return ImplicitRecommender("als", config, seed=seed)


def bpr(config: FactorConfig | None = None, *, seed: int = 0) -> ImplicitRecommender:
    """Bayesian personalized ranking (Rendle et al. 2009)."""
    return ImplicitRecommender("bpr", config, seed=seed)
