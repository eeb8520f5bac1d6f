"""Outlier screening: drop records far from the bulk of their class."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.covariance import LedoitWolf

from mlsiege.defenses.data.cost import check_inputs, defense_result, standardize
from mlsiege.errors import ConfigError

__all__ = ["OutlierConfig", "outlier_screen_mahalanobis"]


@dataclass(frozen=True)
class OutlierConfig:
    """A record is flagged when its squared Mahalanobis distance to its class exceeds the
    ``1 - alpha`` quantile of the chi-square law with as many degrees of freedom as features."""

    alpha: float = 0.001

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha}")


def outlier_screen_mahalanobis(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Flag records whose Mahalanobis distance to their class is improbably large.

    The classical distance-based screen (Mahalanobis 1936; with the shrunk covariance of
    Ledoit and Wolf 2004 so few rows or collinear features do not break it), per label, on
    standardized features, against a chi-square cut-off. Cheap and label-aware; poison that
    sits inside the benign distribution passes it by construction (it is the screen the hard
    injection of :func:`~mlsiege.attacks.poisoning.inject_phony_records` is built to pass).

    Parameters
    ----------
    X, y, meta
        Records, labels, metadata (unused).
    seed
        Unused; kept for the calling convention.
    **options
        ``alpha`` (0.001); ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are squared distances divided by the cut-off (> 1 = flagged).
    """
    started = time.perf_counter()
    config = OutlierConfig(alpha=options.pop("alpha", 0.001))
    X, y, meta = check_inputs(X, y, meta)
    Z = standardize(X)
    cut = float(stats.chi2.ppf(1 - config.alpha, df=X.shape[1]))
    scores = np.zeros(len(X))
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) < 3:
            continue
        cov = LedoitWolf().fit(Z[rows])
        scores[rows] = cov.mahalanobis(Z[rows]) / cut
    keep = scores <= 1.0
    return defense_result("outlier_screen_mahalanobis", keep, scores, X=X, y=y, config=config, seed=seed,
                          started=started, mitigations=("AML.M0007",), options=options)
