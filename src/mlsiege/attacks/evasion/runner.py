"""Point-by-point driver shared by every evasion recipe.

For each row it opens a per-point budget (``target.sub_budget(budget)``: the per-point cap and
the attack's total cap both hold), builds a :class:`~mlsiege.attacks.evasion.oracle.PointOracle`,
runs the search, and keeps whatever the oracle found when the budget runs out. The result holds
``artifacts["adversarial"]`` (NaN rows for failures), ``artifacts["success"]`` and a per-point
table with queries, L0/L2/L-inf (raw and standardized) and the reason of every failure.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.attacks.evasion.oracle import PointOracle, resolve_scale
from mlsiege.attacks.evasion.starts import Pool
from mlsiege.errors import ConfigError, DataValidationError, QueryBudgetExceeded
from mlsiege.metrics.evasion import evasion_summary, perturbation_norms
from mlsiege.results import AttackResult
from mlsiege.schema import Schema
from mlsiege.targets import ensure_budgeted

__all__ = ["ATLAS", "run_evasion"]

#: Craft Adversarial Data, Evade AI Model
ATLAS = ("AML.T0043", "AML.T0015")

Search = Callable[[PointOracle, Pool, np.random.Generator, Any], None]


def _check(X: Any, schema: Schema, budget: Any, pool_X: Any, pool_y: Any, y: Any) -> np.ndarray:
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if X.shape[1] != schema.n_features:
        raise DataValidationError(f"X has {X.shape[1]} columns but the schema has {schema.n_features} features")
    if budget is not None and (int(budget) != budget or budget < 1):
        raise ConfigError(f"budget must be a positive integer (queries per point) or None, got {budget!r}")
    if pool_X is not None and np.asarray(pool_X).shape[1:] != (schema.n_features,):
        raise DataValidationError(f"pool_X must have {schema.n_features} columns")
    if pool_y is not None and (pool_X is None or len(pool_y) != len(pool_X)):
        raise DataValidationError("pool_y needs pool_X of the same length")
    if y is not None and len(y) != len(X):
        raise DataValidationError(f"y has {len(y)} labels for {len(X)} rows")
    return X


def run_evasion(
    name: str,
    search: Search,
    config: Any,
    target: Any,
    X: np.ndarray,
    *,
    schema: Schema,
    pool_X: np.ndarray | None,
    pool_y: np.ndarray | None,
    budget: int | None,
    seed: int,
    y: np.ndarray | None = None,
    target_label: Any = None,
    threshold: float | None = None,
    scale: Any = None,
) -> AttackResult:
    """Run ``search`` on every row of ``X`` and assemble the :class:`AttackResult`."""
    started = time.time()
    X = _check(X, schema, budget, pool_X, pool_y, y)
    target = ensure_budgeted(target)
    used0, calls0 = target.queries_used, target.calls
    scale_arr = resolve_scale(scale, schema, pool_X)
    pool = Pool(None if pool_X is None else np.array(pool_X, dtype=float), None if pool_y is None else np.array(pool_y))
    n, d = X.shape
    adv = np.full((n, d), np.nan)
    queries = np.zeros(n, dtype=int)
    reasons: list[str | None] = []
    labels: list[Any] = []
    total_out = False
    for i in range(n):
        sub = target.sub_budget(budget)
        oracle = PointOracle(
            sub, X[i], schema, scale_arr, label=None if y is None else y[i],
            target_label=target_label, threshold=threshold,
        )
        reason: str | None = None
        try:
            oracle.start()
            if oracle.already_there:
                reason = "original_label_is_target"
            else:
                search(oracle, pool, np.random.default_rng([seed, i]), config)
        except QueryBudgetExceeded:
            total_out = total_out or target.remaining <= 0
            reason = "total_budget_exhausted" if target.remaining <= 0 else "point_budget_exhausted"
        queries[i] = sub.queries_used
        labels.append(oracle.label)
        if reason != "original_label_is_target" and oracle.best is not None and oracle.valid(oracle.best)[0]:
            adv[i] = oracle.best
            reason = None
        elif reason is None:
            reason = "no_adversarial_found"
        elif oracle.label is None:
            reason = "no_queries_left"
        reasons.append(reason)
    success = ~np.isnan(adv).any(axis=1)
    norms = perturbation_norms(adv, X, scale_arr)
    valid = np.zeros(n, dtype=bool)
    if success.any():
        valid[success] = schema.valid_mask(adv[success], X[success])
    table = pd.DataFrame({
        "point": np.arange(n), "original_label": labels, "success": success, "queries": queries,
        **{k: v for k, v in norms.items()}, "valid": np.where(success, valid, False),
        "failure_reason": pd.Series(reasons, dtype=object),
    })
    metrics = evasion_summary(success, queries, norms, valid)
    if success.all() and n:
        status = "succeeded"
    elif total_out:
        status = "budget_exhausted"
    else:
        status = "partial" if success.any() else "failed"
    first_fail = next((r for r in reasons if r is not None), None)
    cfg = {**asdict(config), "budget": budget, "target_label": target_label, "threshold": threshold}
    return AttackResult(
        attack=name, status=status,
        artifacts={"adversarial": adv, "success": success, "points": table, "scale": scale_arr},
        queries=int(target.queries_used - used0), calls=int(target.calls - calls0),
        valid_rate=metrics["valid_rate"], seconds=time.time() - started, config=cfg, seed=seed,
        atlas_techniques=ATLAS, metrics=metrics, failure_reason=first_fail,
    )
