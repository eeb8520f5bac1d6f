"""What a data defense cost, and the :class:`DefenseResult` every data defense returns.

``benign_dropped`` needs the ground truth (``is_poison`` passed as an option); ``utility_lost``
also needs evaluation rows (``X_test``, ``y_test``): it is the downstream metric of a model
fitted on every benign record minus that of one fitted on the benign records the defense kept,
i.e. what the false alarms alone cost (positive = utility lost).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import DataValidationError
from mlsiege.metrics.poisoning import detection, downstream_metric
from mlsiege.results import DefenseResult

__all__ = ["COST_OPTIONS", "check_inputs", "defense_result", "standardize"]

#: options every data defense accepts to report its costs (ground truth and held-out rows)
COST_OPTIONS = ("is_poison", "X_test", "y_test", "metric", "eval_model")


def check_inputs(X: Any, y: Any, meta: Any, *, need: tuple[str, ...] = ()) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """Copies of ``X`` (finite 2-D floats), ``y`` and ``meta`` (a DataFrame, one row per record)."""
    X = np.array(X, dtype=float, copy=True)
    y = np.array(y, copy=True)
    if X.ndim != 2:
        raise DataValidationError(f"X must be 2-D, got shape {X.shape}")
    if y.shape != (len(X),):
        raise DataValidationError(f"y must hold one label per row of X: {y.shape} vs {len(X)} rows")
    meta = pd.DataFrame(index=range(len(X))) if meta is None else pd.DataFrame(meta).reset_index(drop=True).copy()
    if len(meta) != len(X):
        raise DataValidationError(f"meta has {len(meta)} rows for {len(X)} records")
    missing = [c for c in need if c not in meta.columns]
    if missing:
        raise DataValidationError(f"meta lacks the column(s) {missing} this defense needs", columns=missing)
    bad = np.flatnonzero(~np.isfinite(X).all(axis=1))
    if len(bad):
        raise DataValidationError("X holds NaN or inf; run schema_validation first", rows=bad.tolist())
    return X, y, meta


def standardize(X: np.ndarray) -> np.ndarray:
    """Columns centred and scaled to unit variance (constant columns left at 0)."""
    sd = X.std(axis=0)
    return (X - X.mean(axis=0)) / np.where(sd > 0, sd, 1.0)


def _utility_lost(X, y, keep, benign, options) -> float | None:
    from mlsiege.training import fit

    X_test, y_test = options.get("X_test"), options.get("y_test")
    if X_test is None or y_test is None:
        return None
    metric = options.get("metric", "auc")
    model = options.get("eval_model")
    seed = int(options.get("seed", 0))
    base = downstream_metric(fit(model, X[benign], y[benign], seed), X_test, y_test, metric)
    kept = benign & keep
    if len(np.unique(y[kept])) < 2:
        return float(base)
    after = downstream_metric(fit(model, X[kept], y[kept], seed), X_test, y_test, metric)
    return float(after - base) if metric == "rmse" else float(base - after)


def defense_result(
    name: str, keep: np.ndarray, scores: np.ndarray, *, X: np.ndarray, y: np.ndarray, config: Any, seed: int,
    started: float, mitigations: tuple[str, ...], options: Mapping[str, Any], refits: int = 0,
    groups: Mapping[str, Any] | None = None, metrics: Mapping[str, Any] | None = None,
) -> DefenseResult:
    """Assemble the result; costs and detection figures are added when ground truth is given."""
    keep = np.asarray(keep, dtype=bool)
    cost: dict[str, Any] = {"records_dropped": int((~keep).sum()), "dropped_fraction": float((~keep).mean()) if keep.size else 0.0, "refits": refits}
    out_metrics = dict(metrics or {})
    truth = options.get("is_poison")
    if truth is not None:
        truth = np.asarray(truth, dtype=bool)
        if truth.shape != keep.shape:
            raise DataValidationError(f"is_poison has {truth.size} entries for {keep.size} records")
        d = detection(~keep, truth)
        cost["benign_dropped"] = d["benign_dropped"]
        out_metrics.update({k: d[k] for k in ("precision", "recall", "f1", "fpr")})
        lost = _utility_lost(X, y, keep, ~truth, {**options, "seed": seed})
        if lost is not None:
            cost["utility_lost"] = lost
    return DefenseResult(
        defense=name, keep_mask=keep, scores=np.asarray(scores, dtype=float), cost=cost,
        seconds=time.perf_counter() - started, config=dataclasses.asdict(config), seed=seed,
        atlas_mitigations=mitigations, metrics=out_metrics, groups=dict(groups or {}),
    )
