"""Structural protocols for the model under test, one per kind.

A target is anything with the right methods; no base class is needed (rich's habit of
``@runtime_checkable`` protocols rather than inheritance). Inputs are 2-D numpy arrays whose
columns follow the :class:`~mlsiege.schema.Schema` order; categorical features arrive as integer
level codes and an adapter turns them into what the model expects.

Sign convention for anomaly scores: **higher means more anomalous**. scikit-learn's
``score_samples`` / ``decision_function`` follow the opposite convention (higher = more normal);
the adapters in :mod:`mlsiege.targets.adapters` flip it so every scorer in mlsiege agrees.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

import numpy as np

__all__ = ["AnomalyScorer", "Classifier", "ProbabilisticClassifier", "Recommender", "Regressor"]


@runtime_checkable
class Classifier(Protocol):
    """Answers a class label per row."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class ProbabilisticClassifier(Classifier, Protocol):
    """A classifier that also exposes class probabilities (columns follow ``classes_``)."""

    classes_: np.ndarray

    def predict_proba(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class AnomalyScorer(Protocol):
    """Answers an anomaly score per row; higher means more anomalous."""

    def score(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Regressor(Protocol):
    """Answers a real value per row."""

    def predict(self, X: np.ndarray) -> np.ndarray: ...


@runtime_checkable
class Recommender(Protocol):
    """Answers the top-``k`` item ids for each user id (shape ``(len(users), k)``)."""

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray: ...
