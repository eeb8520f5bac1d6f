"""The attacker's side of the prediction API: buy answers, keep every row paid for.

:class:`Oracle` wraps a :class:`~mlsiege.targets.Budgeted` target and records the rows sent and
the answers received. When the budget runs out mid-batch it keeps the answered part (from
``QueryBudgetExceeded.partial``) and sets ``exhausted``, so a recipe simply stops asking and
works with what it has.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import CapabilityError, QueryBudgetExceeded
from mlsiege.targets import Budgeted

__all__ = ["Oracle"]


class Oracle:
    """Label (or score) queries against a budgeted target, with a record of what was bought.

    Parameters
    ----------
    target
        The budgeted target.
    use_scores
        Ask ``predict_proba`` when the API offers it (labels are then the arg-max class);
        ``False`` treats the API as label-only.
    """

    def __init__(self, target: Budgeted, *, use_scores: bool = True) -> None:
        self.target = target
        self.scores = bool(use_scores and hasattr(target, "predict_proba"))
        if not self.scores and not hasattr(target, "predict"):
            raise CapabilityError("extraction needs a target offering predict() or predict_proba()")
        classes = getattr(target, "classes_", None)  # CapabilityError is an AttributeError
        self.classes = None if classes is None else np.asarray(classes)
        self.exhausted = False
        self._X: list[np.ndarray] = []
        self._y: list[np.ndarray] = []
        self._p: list[np.ndarray] = []

    @property
    def remaining(self) -> float:
        return 0.0 if self.exhausted else self.target.remaining

    def ask(self, X: np.ndarray) -> np.ndarray:
        """Labels for the rows that could be paid for (fewer than ``len(X)`` once exhausted)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if self.exhausted or len(X) == 0:
            return np.empty(0)
        method = self.target.predict_proba if self.scores else self.target.predict
        try:
            out = np.asarray(method(X))
        except QueryBudgetExceeded as exc:
            self.exhausted = True
            out = np.asarray(exc.partial if exc.partial is not None else np.empty(0))
        n = len(out)
        if n == 0:
            return np.empty(0)
        if self.target.remaining <= 0:
            self.exhausted = True
        if self.scores:
            proba = out.reshape(n, -1)
            labels = proba.argmax(axis=1) if self.classes is None else self.classes[proba.argmax(axis=1)]
            self._p.append(proba)
        else:
            labels = out.reshape(n)
        self._X.append(X[:n])
        self._y.append(labels)
        return labels

    @property
    def X(self) -> np.ndarray:
        return np.vstack(self._X) if self._X else np.empty((0, 0))

    @property
    def y(self) -> np.ndarray:
        return np.concatenate(self._y) if self._y else np.empty(0)

    @property
    def proba(self) -> np.ndarray | None:
        return np.vstack(self._p) if self._p else None

    def __len__(self) -> int:
        return int(sum(len(x) for x in self._X))

    def describe(self) -> dict[str, Any]:
        return {"output": "scores" if self.scores else "labels", "queries": len(self)}
