"""Outlier screening: drop records far from the bulk of their class."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy import stats
from sklearn.covariance import LedoitWolf, MinCovDet

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result, standardize
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["OutlierConfig", "outlier_screen_mahalanobis"]


@dataclass(frozen=True)
class OutlierConfig:
    """A record is flagged when its squared Mahalanobis distance to its class exceeds the
    ``1 - alpha`` quantile of the chi-square law with as many degrees of freedom as features;
    ``robust`` uses the minimum covariance determinant so a poison cluster cannot hide itself
    by inflating the covariance."""

    alpha: float = 0.001
    robust: bool = True

    def __post_init__(self) -> None:
        if not 0.0 < self.alpha < 0.5:
            raise ConfigError(f"alpha must be in (0, 0.5), got {self.alpha}")


def _distance(Z: np.ndarray, robust: bool, seed: int) -> np.ndarray:
    if robust and len(Z) > 2 * Z.shape[1]:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                return MinCovDet(random_state=seed).fit(Z).mahalanobis(Z)
            except (ValueError, RuntimeWarning, UserWarning, np.linalg.LinAlgError):
                pass
    return LedoitWolf().fit(Z).mahalanobis(Z)


def outlier_screen_mahalanobis(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Flag records whose Mahalanobis distance to their class is improbably large.

    The classical distance-based screen (Mahalanobis 1936), per label, on standardized features,
    against a chi-square cut-off; centre and covariance come from the minimum covariance
    determinant (Rousseeuw and Van Driessen 1999, robust to a poisoned minority) or, when that
    is degenerate (constant or one-hot columns) or ``robust=False``, from the shrunk estimate of
    Ledoit and Wolf (2004). Cheap and label-aware; poison that
    sits inside the benign distribution passes it by construction (it is the screen the hard
    injection of :func:`~mlsiege.attacks.poisoning.inject_phony_records` is built to pass).

    Parameters
    ----------
    X, y, meta
        Records, labels, metadata (unused).
    seed
        Unused; kept for the calling convention.
    **options
        ``alpha`` (0.001), ``robust`` (True); ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are squared distances divided by the cut-off (> 1 = flagged).
    """
    check_options("outlier_screen_mahalanobis", options, ("alpha", "robust", *COST_OPTIONS))
    started = time.perf_counter()
    config = OutlierConfig(alpha=options.pop("alpha", 0.001), robust=options.pop("robust", True))
    X, y, meta = check_inputs(X, y, meta)
    Z = standardize(X)
    cut = float(stats.chi2.ppf(1 - config.alpha, df=X.shape[1]))
    scores = np.zeros(len(X))
    for label in np.unique(y):
        rows = np.flatnonzero(y == label)
        if len(rows) < 3:
            continue
        scores[rows] = _distance(Z[rows], config.robust, seed) / cut
    keep = scores <= 1.0
    return defense_result("outlier_screen_mahalanobis", keep, scores, X=X, y=y, config=config, seed=seed,
                          started=started, mitigations=("AML.M0007",), options=options)
