"""Output hardening: what a deployed API may choose to reveal (MITRE ATLAS AML.M0002).

Each wrapper is itself a target, so an attack can be run against the hardened API a user really
ships: ``Budgeted(LabelOnly(model))``. :class:`ThresholdOracle` turns any anomaly scorer into the
accept/reject oracle that a registration form or fraud screen exposes.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import CapabilityError, ConfigError

__all__ = ["LabelOnly", "Rounded", "ThresholdOracle", "TopK"]


class LabelOnly:
    """Expose only ``predict``: no probabilities, no scores."""

    def __init__(self, target: Any) -> None:
        if not hasattr(target, "predict"):
            raise CapabilityError("LabelOnly needs a target with predict(); wrap a scorer in ThresholdOracle first")
        self.target = target

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.target.predict(X))


class Rounded:
    """Round probabilities or anomaly scores to ``decimals`` places before they leave the API."""

    def __init__(self, target: Any, decimals: int = 2) -> None:
        if decimals < 0:
            raise ConfigError(f"decimals must be >= 0, got {decimals}")
        self.target = target
        self.decimals = decimals
        if hasattr(target, "classes_"):
            self.classes_ = target.classes_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.target.predict(X))

    def __getattr__(self, name: str) -> Any:
        # only forward the score-like capabilities, rounded; everything else is hidden
        if name == "predict_proba" and hasattr(self.target, "predict_proba"):
            return lambda X: np.round(np.asarray(self.target.predict_proba(X), dtype=float), self.decimals)
        if name == "score" and hasattr(self.target, "score"):
            return lambda X: np.round(np.asarray(self.target.score(X), dtype=float), self.decimals)
        raise AttributeError(name)


class TopK:
    """Reveal only the ``k`` most likely classes' probabilities (the rest read as 0)."""

    def __init__(self, target: Any, k: int = 1) -> None:
        if not hasattr(target, "predict_proba"):
            raise CapabilityError("TopK needs a target with predict_proba()")
        if k < 1:
            raise ConfigError(f"k must be >= 1, got {k}")
        self.target = target
        self.k = k
        self.classes_ = target.classes_

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.target.predict(X))

    def predict_proba(self, X: np.ndarray) -> np.ndarray:
        proba = np.asarray(self.target.predict_proba(X), dtype=float)
        keep = np.argsort(-proba, axis=1)[:, : self.k]
        out = np.zeros_like(proba)
        rows = np.arange(len(proba))[:, None]
        out[rows, keep] = proba[rows, keep]
        return out


class ThresholdOracle:
    """Accept/reject oracle over an anomaly scorer: ``predict`` is 1 (reject) when score > threshold.

    ``classes_`` is ``[0, 1]``: 0 = accepted (normal), 1 = rejected (anomalous). The raw score is
    not exposed unless ``expose_score`` is set, as on a real sign-up form.
    """

    classes_ = np.array([0, 1])

    def __init__(self, scorer: Any, threshold: float, *, expose_score: bool = False) -> None:
        if not hasattr(scorer, "score"):
            raise CapabilityError("ThresholdOracle needs a target with score()")
        self.scorer = scorer
        self.threshold = float(threshold)
        self.expose_score = expose_score

    def predict(self, X: np.ndarray) -> np.ndarray:
        return (np.asarray(self.scorer.score(X), dtype=float) > self.threshold).astype(int)

    def __getattr__(self, name: str) -> Any:
        if name == "score" and self.expose_score:
            return self.scorer.score
        raise AttributeError(name)
