"""The user's own trainer in the audit, and audit tests that could not run as findings.

:func:`frame_trainer` lets the audit train the user's real pipeline: the audit holds rows in the
schema's numeric attack space, while a pipeline fitted on a DataFrame (a ``ColumnTransformer``
with a ``OneHotEncoder`` on text columns) needs named columns with their levels. When the schema
has categorical features the trainer is wrapped so every ``fit`` / ``predict`` /
``predict_proba`` / ``decision_function`` first decodes the rows (``schema.decode``); numeric
schemas pass arrays as before.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from sklearn.base import BaseEstimator, clone

__all__ = ["FrameTrainer", "could_not_run", "frame_trainer"]


class FrameTrainer(BaseEstimator):
    """``estimator`` trained and asked on decoded DataFrames (``schema.decode`` of the rows)."""

    def __init__(self, estimator: Any = None, schema: Any = None) -> None:
        self.estimator = estimator
        self.schema = schema

    def fit(self, X: np.ndarray, y: np.ndarray) -> FrameTrainer:
        self.model_ = clone(self.estimator).fit(self.schema.decode(X), y)
        self.classes_ = getattr(self.model_, "classes_", None)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        return np.asarray(self.model_.predict(self.schema.decode(X)))

    def __getattr__(self, name: str) -> Any:
        if name in ("predict_proba", "decision_function", "score_samples") and "model_" in self.__dict__:
            method = getattr(self.model_, name)
            return lambda X: method(self.schema.decode(X))
        raise AttributeError(name)


def frame_trainer(trainer: Any, schema: Any) -> Any:
    """``trainer`` itself for a numeric schema; else a :class:`FrameTrainer` around it."""
    if any(f.type == "categorical" for f in schema.features):
        return FrameTrainer(trainer, schema)
    return trainer


def could_not_run(test: str, reason: str) -> Any:
    """A finding for an audit test that could not run: it proves nothing, so CI must not pass."""
    from mlsiege.report.findings import Finding

    return Finding(
        title=f"The {test} could not run: {reason}",
        severity="high",
        rule="an audit test that could not run proves nothing either way; a gate must not pass on it -> high",
        evidence={"test": test, "reason": reason},
        source=f"lifecycle-dynamic:{test}",
    )
