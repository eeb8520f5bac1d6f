"""Poisoning and data-defense metrics: pure functions, no fitting, no printing.

Detection counts are always over records: a source-level defense that flags a source flags
every record of it. ``benign_dropped`` is the fraction of benign (not poisoned) records flagged,
the false-positive rate of the screen.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError, DataValidationError

__all__ = [
    "backdoor_success",
    "detection",
    "downstream_metric",
    "survival_by_stage",
    "targeted_error",
    "utility_drop",
]

METRICS = ("auc", "accuracy", "rmse")


def _mask(values: Any, name: str, n: int | None = None) -> np.ndarray:
    out = np.asarray(values, dtype=bool).ravel()
    if n is not None and out.size != n:
        raise DataValidationError(f"{name} has {out.size} entries, expected {n}")
    return out


def detection(flagged: Any, is_poison: Any) -> dict[str, float]:
    """Precision, recall, F1, false-positive rate and ``benign_dropped`` of a screen.

    Parameters
    ----------
    flagged
        True for every record the defense removed.
    is_poison
        Ground truth: True for every poisoned record.

    Examples
    --------
    >>> d = detection([1, 1, 0, 0], [1, 0, 0, 0])
    >>> d["precision"], d["recall"], d["benign_dropped"]
    (0.5, 1.0, 0.3333333333333333)
    """
    flagged = _mask(flagged, "flagged")
    poison = _mask(is_poison, "is_poison", flagged.size)
    tp = int((flagged & poison).sum())
    fp = int((flagged & ~poison).sum())
    fn = int((~flagged & poison).sum())
    benign = int((~poison).sum())
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    fpr = fp / benign if benign else 0.0
    return {
        "precision": precision, "recall": recall, "f1": f1, "fpr": fpr, "benign_dropped": fpr,
        "tp": tp, "fp": fp, "fn": fn, "flagged": int(flagged.sum()), "poison": int(poison.sum()),
    }


def _scores(model: Any, X: np.ndarray) -> np.ndarray:
    if hasattr(model, "predict_proba"):
        p = np.asarray(model.predict_proba(X))
        return p[:, -1] if p.ndim == 2 else p
    if hasattr(model, "decision_function"):
        return np.asarray(model.decision_function(X), dtype=float)
    if hasattr(model, "score"):  # anomaly scorers: higher = more anomalous = positive class
        return np.asarray(model.score(X), dtype=float)
    return np.asarray(model.predict(X), dtype=float)


def downstream_metric(model: Any, X: Any, y: Any, metric: str = "auc") -> float:
    """The model's utility on held-out data: ``auc`` (binary), ``accuracy`` or ``rmse``.

    AUC uses ``predict_proba``, ``decision_function`` or an anomaly ``score`` (higher = positive
    class), in that order; when ``y`` holds a single class AUC falls back to accuracy.
    """
    from sklearn.metrics import roc_auc_score

    if metric not in METRICS:
        raise ConfigError(f"metric must be one of {METRICS}, got {metric!r}")
    X = np.asarray(X, dtype=float)
    y = np.asarray(y)
    if metric == "rmse":
        return float(np.sqrt(np.mean((np.asarray(model.predict(X), dtype=float) - y) ** 2)))
    if metric == "auc" and len(np.unique(y)) == 2:
        return float(roc_auc_score(y, _scores(model, X)))
    return float(np.mean(np.asarray(model.predict(X)) == y))


def utility_drop(clean: float, poisoned: float, defended: float | None = None, *, higher_is_better: bool = True) -> dict[str, Any]:
    """Utility drop caused by the poison and what the defense won back (in metric units).

    ``drop_*`` are positive when utility was lost (for RMSE, when the error grew);
    ``restored`` is the fraction of the poison's damage the defense undid.
    """
    sign = 1.0 if higher_is_better else -1.0
    out: dict[str, Any] = {"clean": clean, "poisoned": poisoned, "drop_poisoned": sign * (clean - poisoned)}
    if defended is not None:
        out["defended"] = defended
        out["drop_defended"] = sign * (clean - defended)
        damage = out["drop_poisoned"]
        out["restored"] = float(1.0 - out["drop_defended"] / damage) if damage > 0 else 1.0
    return out


def targeted_error(model: Any, X_sub: Any, y_sub: Any) -> float:
    """Error rate on the attacked subpopulation (the target of a subpopulation attack)."""
    X_sub = np.asarray(X_sub, dtype=float)
    if len(X_sub) == 0:
        return float("nan")
    return float(np.mean(np.asarray(model.predict(X_sub)) != np.asarray(y_sub)))


def backdoor_success(model: Any, X_triggered: Any, target_label: Any) -> float:
    """Fraction of triggered rows the model assigns to the attacker's target label."""
    X_triggered = np.asarray(X_triggered, dtype=float)
    if len(X_triggered) == 0:
        return float("nan")
    return float(np.mean(np.asarray(model.predict(X_triggered)) == target_label))


def survival_by_stage(is_poison: Any, stage_keeps: Mapping[str, Any]) -> dict[str, float]:
    """Fraction of the poison still present after each stage (stages apply in order).

    ``stage_keeps`` maps a stage name to its keep mask over the *original* records; a record
    removed at one stage stays removed afterwards.

    Examples
    --------
    >>> survival_by_stage([1, 1, 0, 1], {"schema": [1, 1, 1, 0], "knn": [0, 1, 1, 1]})
    {'ingest': 1.0, 'schema': 0.6666666666666666, 'knn': 0.3333333333333333}
    """
    poison = _mask(is_poison, "is_poison")
    alive = np.ones(poison.size, dtype=bool)
    total = max(int(poison.sum()), 1)
    out = {"ingest": float(poison.sum() / total) if poison.any() else 0.0}
    for stage, keep in stage_keeps.items():
        alive &= _mask(keep, f"keep mask of stage {stage!r}", poison.size)
        out[stage] = float((alive & poison).sum() / total)
    return out
