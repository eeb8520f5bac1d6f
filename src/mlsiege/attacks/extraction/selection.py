"""The thief model and how it picks its next queries.

Any scikit-learn classifier can be the thief (:func:`fit_thief` clones it and seeds it). Queries
are picked where the current surrogate is least sure (uncertainty sampling, Lewis & Gale 1994)
or where a committee of surrogates disagrees (query by committee, Seung et al. 1992), the two
active-learning rules Chandrasekaran et al. (2020) show to be model-extraction strategies.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.dummy import DummyClassifier
from sklearn.ensemble import RandomForestClassifier

__all__ = ["STRATEGIES", "default_thief", "fit_thief", "pick", "uncertainty"]

STRATEGIES = ("uncertainty", "disagreement", "random")


def default_thief(seed: int) -> Any:
    """A random forest: no scaling needed, vote fractions double as a committee."""
    return RandomForestClassifier(n_estimators=100, random_state=seed)


def fit_thief(thief: Any, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    """A fresh, seeded clone of ``thief`` (default: :func:`default_thief`) fitted on ``(X, y)``.

    With a single class seen, the surrogate is the constant classifier: nothing else can be
    learned from one label.
    """
    if len(np.unique(y)) < 2:
        if len(y) == 0:
            X, y = np.zeros((1, X.shape[1] if X.ndim == 2 else 1)), np.zeros(1, dtype=int)
        return DummyClassifier(strategy="constant", constant=y[0]).fit(X, y)
    model = default_thief(seed) if thief is None else clone(thief)
    if "random_state" in model.get_params():
        model.set_params(random_state=seed)
    return model.fit(X, y)


def uncertainty(model: Any, C: np.ndarray) -> np.ndarray:
    """Higher = the surrogate is less sure of ``C`` (1 - top probability, or -|margin|)."""
    if hasattr(model, "predict_proba"):
        p = np.asarray(model.predict_proba(C), dtype=float)
        return 1.0 - p.max(axis=1) if p.shape[1] > 1 else np.zeros(len(C))
    if hasattr(model, "decision_function"):
        d = np.asarray(model.decision_function(C), dtype=float)
        return -np.abs(d) if d.ndim == 1 else -(np.sort(d, axis=1)[:, -1] - np.sort(d, axis=1)[:, -2])
    return np.zeros(len(C))


def _disagreement(thief: Any, X: np.ndarray, y: np.ndarray, C: np.ndarray, rng: np.random.Generator, size: int = 5) -> np.ndarray:
    votes = []
    for _ in range(size):
        idx = rng.integers(0, len(X), len(X))
        votes.append(fit_thief(thief, X[idx], y[idx], int(rng.integers(2**31))).predict(C))
    V = np.asarray(votes)
    # fraction of the committee that disagrees with its own majority
    agree = np.array([np.max(np.unique(col, return_counts=True)[1]) for col in V.T])
    return 1.0 - agree / size


def pick(
    strategy: str,
    model: Any,
    C: np.ndarray,
    k: int,
    rng: np.random.Generator,
    *,
    thief: Any = None,
    X: np.ndarray | None = None,
    y: np.ndarray | None = None,
) -> np.ndarray:
    """Indices of the ``k`` candidates of ``C`` to query next under ``strategy``."""
    k = min(k, len(C))
    if k <= 0:
        return np.empty(0, dtype=int)
    if strategy == "random" or len(np.unique(y if y is not None else [])) < 2:
        return rng.choice(len(C), k, replace=False)
    if strategy == "disagreement":
        score = _disagreement(thief, X, y, C, rng)
    else:
        score = uncertainty(model, C)
    # ties broken at random so equally uncertain candidates do not all come from one corner
    order = np.lexsort((rng.random(len(C)), -score))
    return order[:k]
