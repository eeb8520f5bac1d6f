"""TRIM: fit a regression on the subset of records it explains best, iteratively."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from mlsiege.defenses.data.cost import COST_OPTIONS, check_inputs, defense_result
from mlsiege.errors import ConfigError
from mlsiege.options import check_options

__all__ = ["TrimConfig", "trim_jagielski2018"]


@dataclass(frozen=True)
class TrimConfig:
    """``eps``: the poison share assumed (``(1 - eps) * n`` records are kept); ``max_iter``
    rounds of "fit on the subset, keep the records with the smallest residuals"."""

    eps: float = 0.1
    max_iter: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.eps < 0.5:
            raise ConfigError(f"eps must be in (0, 0.5), got {self.eps}")
        if self.max_iter < 1:
            raise ConfigError(f"max_iter must be >= 1, got {self.max_iter}")


def trim_jagielski2018(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Trimmed-loss regression: alternately fit on a subset and re-pick the best-fitting records.

    TRIM of Jagielski et al. (2018), "Manipulating machine learning: poisoning attacks and
    countermeasures for regression learning", IEEE S&P: start from a random subset of
    ``(1 - eps) * n`` records, fit, keep the ``(1 - eps) * n`` records with the smallest
    squared residuals, refit, until the subset stops changing. Records left out are flagged.
    For regression targets (``y`` numeric; 0/1 labels work as a linear-probability model).

    Parameters
    ----------
    X, y, meta
        Records, numeric targets, metadata (unused).
    seed
        Seed of the initial subset.
    **options
        ``eps`` (0.1), ``max_iter`` (30), ``model`` (default standardized ridge regression);
        ``is_poison``, ``X_test``, ``y_test``, ``metric="rmse"`` for the costs.

    Returns
    -------
    DefenseResult
        Scores are squared residuals under the final model; metric ``iterations``.
    """
    check_options("trim_jagielski2018", options, ("eps", "max_iter", "model", *COST_OPTIONS))
    started = time.perf_counter()
    config = TrimConfig(eps=options.pop("eps", 0.1), max_iter=options.pop("max_iter", 30))
    X, y, meta = check_inputs(X, y, meta)
    y = y.astype(float)
    model = options.pop("model", None) or make_pipeline(StandardScaler(), Ridge(alpha=1.0))
    n_keep = max(2, int(round((1 - config.eps) * len(X))))
    rng = np.random.default_rng(seed)
    subset = np.sort(rng.choice(len(X), n_keep, replace=False))
    iterations = 0
    while iterations < config.max_iter:
        iterations += 1
        est = clone(model).fit(X[subset], y[subset])
        resid = (est.predict(X) - y) ** 2
        new = np.sort(np.argsort(resid, kind="stable")[:n_keep])
        if np.array_equal(new, subset):
            break
        subset = new
    keep = np.zeros(len(X), bool)
    keep[subset] = True
    options.setdefault("metric", "rmse")
    options.setdefault("eval_model", model)
    return defense_result("trim_jagielski2018", keep, resid, X=X, y=y, config=config, seed=seed, started=started,
                          mitigations=("AML.M0007",), options=options, refits=iterations, metrics={"iterations": iterations})
