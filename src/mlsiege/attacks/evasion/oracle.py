"""The attacker's view of one point: a per-point query budget, a goal, and the best row so far.

:class:`PointOracle` is the *objective* part every evasion search is composed with. It

* projects every candidate onto the schema (``schema.project(rows, original)``: immutables
  fixed, relations solved) before a query, and never sends a row that stays invalid;
* asks the target through a per-point :class:`~mlsiege.targets.Budgeted` view, so the per-point
  cap and the attack's total cap both hold, and keeps the answers of a batch cut at the cap;
* decides success: untargeted = a label other than the original one, targeted = ``target_label``;
  for an anomaly scorer behind a threshold, evading means label 0 (accepted);
* remembers the valid adversarial row closest to the original (L2 in standardized units), so a
  search that runs out of queries still hands back what it paid for.

Scores, when the target reveals them, give a *margin* (negative = adversarial) for score-based
searches: class probabilities for a classifier, ``score - threshold`` for a scorer.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import QueryBudgetExceeded
from mlsiege.schema import Schema

__all__ = ["PointOracle", "resolve_scale"]


def resolve_scale(scale: Any, schema: Schema, pool_X: np.ndarray | None) -> np.ndarray:
    """Per-feature unit of the standardized distances (see :mod:`~mlsiege.attacks.evasion.units`).

    ``scale`` itself when given (an array or a unit name); else the pool's standard deviation
    (features constant there get the smallest varying unit); else the schema's range.
    """
    from mlsiege.attacks.evasion.units import distance_unit

    if scale is None and (pool_X is None or len(pool_X) < 2):
        return distance_unit("range", schema).scale
    return distance_unit(scale, schema, pool_X, "pool").scale


class PointOracle:
    """One point under attack (see the module docstring).

    Parameters
    ----------
    target
        A per-point :class:`~mlsiege.targets.Budgeted` view.
    x0
        The original row (attack space).
    schema, scale
        Feasible set and per-feature unit of distances.
    label
        The original label when known (saves one query); else :meth:`start` asks for it.
    target_label
        Targeted goal; ``None`` for untargeted (for a thresholded scorer the default goal is 0).
    threshold
        Threshold of a raw anomaly scorer (label = ``score > threshold``) when the target has no
        ``predict``.
    """

    def __init__(
        self,
        target: Any,
        x0: np.ndarray,
        schema: Schema,
        scale: np.ndarray,
        *,
        label: Any = None,
        target_label: Any = None,
        threshold: float | None = None,
    ) -> None:
        self.target = target
        self.schema = schema
        self.scale = scale
        self.x0 = np.asarray(x0, dtype=float)
        self.label = label
        self.threshold = threshold
        self.use_proba = hasattr(target, "predict_proba")
        self.use_score = not self.use_proba and hasattr(target, "score") and (
            threshold is not None or hasattr(target, "threshold")
        )
        if self.use_score and threshold is None:
            self.threshold = float(target.threshold)
        is_scorer = self.use_score or (not hasattr(target, "predict") and hasattr(target, "score"))
        self.target_label = 0 if (target_label is None and is_scorer) else target_label
        self.mutable = schema.mutable_mask.copy()
        self.best: np.ndarray | None = None
        self.best_dist = np.inf
        self.classes = None
        if self.use_proba:
            classes = getattr(target, "classes_", None) if _has(target, "classes_") else None
            self.classes = None if classes is None else np.asarray(classes)

    # ------------------------------------------------------------------ basics
    @property
    def used(self) -> int:
        return int(self.target.queries_used)

    @property
    def remaining(self) -> float:
        return self.target.remaining

    def dist(self, rows: np.ndarray) -> np.ndarray:
        """L2 distance to the original in standardized units, per row."""
        rows = np.atleast_2d(rows)
        return np.sqrt((((rows - self.x0) / self.scale) ** 2).sum(axis=1))

    def project(self, rows: np.ndarray) -> np.ndarray:
        """Rows brought into the feasible set around the original."""
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        return self.schema.project(rows, np.broadcast_to(self.x0, rows.shape))

    def valid(self, rows: np.ndarray) -> np.ndarray:
        rows = np.atleast_2d(rows)
        return self.schema.valid_mask(rows, np.broadcast_to(self.x0, rows.shape))

    # ------------------------------------------------------------------ queries
    def _ask(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels (and margins when scores are visible) for rows already feasible."""
        if self.use_proba:
            proba = np.asarray(self.target.predict_proba(rows), dtype=float)
            return self._labels_from_proba(proba), proba
        if self.use_score or not hasattr(self.target, "predict"):
            score = np.asarray(self.target.score(rows), dtype=float)
            return (score > self.threshold).astype(int), score
        return np.asarray(self.target.predict(rows)), None

    def _labels_from_proba(self, proba: np.ndarray) -> np.ndarray:
        idx = np.argmax(proba, axis=1)
        return idx if self.classes is None else self.classes[idx]

    def _margin(self, labels: np.ndarray, raw: np.ndarray | None) -> np.ndarray:
        adv = self._is_goal(labels)
        if raw is None:
            return np.where(adv, -1.0, 1.0)
        if raw.ndim == 1:  # anomaly score: accepted (label 0) when score <= threshold
            m = raw - self.threshold
            return m if self.target_label in (0, None) else -m
        cols = np.arange(raw.shape[1]) if self.classes is None else self.classes
        if self.target_label is not None:
            t = cols == self.target_label
            other = np.where(t[None, :], -np.inf, raw).max(axis=1)
            return other - raw[:, t].max(axis=1)
        o = cols == self.label
        other = np.where(o[None, :], -np.inf, raw).max(axis=1)
        return raw[:, o].max(axis=1) - other

    def _is_goal(self, labels: np.ndarray) -> np.ndarray:
        if self.target_label is not None:
            return labels == self.target_label
        return labels != self.label

    def start(self) -> None:
        """Learn the original label (one query) unless it was given."""
        if self.label is None:
            labels, _ = self._ask(self.x0[None, :])
            self.label = labels[0]

    @property
    def already_there(self) -> bool:
        return self.target_label is not None and self.label == self.target_label

    def query(self, rows: np.ndarray, *, projected: bool = False) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Project, query and record: ``(feasible rows, adversarial?, margin)``.

        Rows that stay infeasible after projection are not sent (adversarial False, margin inf).
        A batch cut at the budget records what was answered, then re-raises.
        """
        rows = np.atleast_2d(np.asarray(rows, dtype=float))
        if not projected:
            rows = self.project(rows)
        ok = self.valid(rows)
        adv = np.zeros(len(rows), dtype=bool)
        margin = np.full(len(rows), np.inf)
        send = np.flatnonzero(ok)
        if len(send) == 0:
            return rows, adv, margin
        try:
            labels, raw = self._ask(rows[send])
        except QueryBudgetExceeded as exc:
            part = np.asarray(exc.partial)
            if len(part):
                n = len(part)
                if self.use_proba or self.use_score or not hasattr(self.target, "predict"):
                    labels = self._labels_from_proba(part) if self.use_proba else (part > self.threshold).astype(int)
                    raw = part
                else:
                    labels, raw = part, None
                self._record(rows[send[:n]], labels, raw)
            raise
        a, m = self._record(rows[send], labels, raw)
        adv[send], margin[send] = a, m
        return rows, adv, margin

    def _record(self, rows: np.ndarray, labels: np.ndarray, raw: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        adv = self._is_goal(labels)
        margin = self._margin(labels, raw)
        if adv.any():
            self.offer(rows[adv])
        return adv, margin

    def offer(self, rows: np.ndarray) -> None:
        """Keep the closest of ``rows`` (all known adversarial and feasible) if it beats the best."""
        d = self.dist(rows)
        k = int(np.argmin(d))
        if d[k] < self.best_dist:
            self.best, self.best_dist = rows[k].copy(), float(d[k])


def _has(obj: Any, name: str) -> bool:
    try:
        getattr(obj, name)
    except AttributeError:
        return False
    return True
