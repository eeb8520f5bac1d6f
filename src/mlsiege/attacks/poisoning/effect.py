"""What a poisoning attack did downstream: refit a model on clean and poisoned data, compare.

Every poisoning recipe measures its effect with :func:`downstream_effect` so results line up:
the same model class (``model``, cloned, default a logistic regression), the same evaluation
rows (``X_test``/``y_test``; the clean training rows when none are given) and the same metric.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import DataValidationError
from mlsiege.metrics.poisoning import downstream_metric, utility_drop
from mlsiege.training import default_model, fit

__all__ = ["EFFECT_OPTIONS", "check_xy", "default_model", "downstream_effect", "fit", "poisoning_result"]

#: options every poisoning recipe that measures its downstream effect accepts
EFFECT_OPTIONS = ("X_test", "y_test", "model")


def downstream_effect(
    X_clean: np.ndarray, y_clean: np.ndarray, X_poisoned: np.ndarray, y_poisoned: np.ndarray, *,
    X_test: np.ndarray | None = None, y_test: np.ndarray | None = None, model: Any = None,
    metric: str = "auc", seed: int = 0,
) -> tuple[dict[str, Any], Any, Any]:
    """Fit on clean and on poisoned data; return (metrics, clean model, poisoned model).

    Metrics: ``metric_clean``, ``metric_poisoned``, ``utility_drop`` (positive = lost).
    """
    if X_test is None or y_test is None:
        X_test, y_test = X_clean, y_clean
    clean = fit(model, X_clean, y_clean, seed)
    poisoned = fit(model, X_poisoned, y_poisoned, seed)
    a = downstream_metric(clean, X_test, y_test, metric)
    b = downstream_metric(poisoned, X_test, y_test, metric)
    drop = utility_drop(a, b, higher_is_better=metric != "rmse")
    return {"metric": metric, "metric_clean": a, "metric_poisoned": b, "utility_drop": drop["drop_poisoned"]}, clean, poisoned


def poisoning_result(
    name: str, X_poisoned: np.ndarray, y_poisoned: np.ndarray, is_poison: np.ndarray, *,
    schema: Any, config: Any, seed: int, started: float, techniques: tuple[str, ...],
    metrics: dict[str, Any], succeeded: bool, reason: str | None = None, **artifacts: Any,
) -> Any:
    """The :class:`AttackResult` every poisoning recipe returns (poisoned rows checked against the schema)."""
    import dataclasses
    import time

    from mlsiege.results import AttackResult

    is_poison = np.asarray(is_poison, dtype=bool)
    changed = X_poisoned[is_poison]
    valid = float(schema.valid_mask(changed).mean()) if len(changed) else 1.0
    metrics = {**metrics, "n_poison": int(is_poison.sum()), "poison_fraction": float(is_poison.mean()) if is_poison.size else 0.0}
    return AttackResult(
        attack=name, status="succeeded" if succeeded else "failed",
        artifacts={"X_poisoned": X_poisoned, "y_poisoned": y_poisoned, "is_poison": is_poison, **artifacts},
        valid_rate=valid, seconds=time.perf_counter() - started, config=dataclasses.asdict(config), seed=seed,
        atlas_techniques=techniques, metrics=metrics, failure_reason=None if succeeded else (reason or "no downstream effect"),
    )


def check_xy(X: Any, y: Any, schema: Any) -> tuple[np.ndarray, np.ndarray]:
    """Copies of ``X`` (2-D float, schema width) and ``y`` (one label per row), or a clear error."""
    X = np.array(X, dtype=float, copy=True)
    y = np.array(y, copy=True)
    if X.ndim != 2 or X.shape[1] != schema.n_features:
        raise DataValidationError(f"X must be 2-D with {schema.n_features} columns, got shape {X.shape}")
    if y.shape != (len(X),):
        raise DataValidationError(f"y must hold one label per row of X: {y.shape} vs {len(X)} rows")
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if len(bad):
        raise DataValidationError("X holds NaN or inf", rows=bad.tolist())
    return X, y
