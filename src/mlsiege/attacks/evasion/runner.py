"""Point-by-point driver shared by every evasion recipe.

For each row it opens a per-point budget (``target.sub_budget(budget)``: the per-point cap and
the attack's total cap both hold), builds a :class:`~mlsiege.attacks.evasion.oracle.PointOracle`,
runs the search, and keeps whatever the oracle found when the budget runs out. The result holds
``artifacts["adversarial"]`` (NaN rows for failures), ``artifacts["success"]`` and a per-point
table with queries, L0/L2/L-inf (raw and standardized in the run's named distance unit,
``metrics["distance_unit"]``) and the reason of every failure; ``on_point`` sees each row as it
finishes.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool
from mlsiege.attacks.evasion.units import DistanceUnit, distance_unit
from mlsiege.errors import ConfigError, DataValidationError, QueryBudgetExceeded
from mlsiege.metrics.evasion import evasion_summary, perturbation_norms
from mlsiege.results import AttackResult
from mlsiege.schema import Schema
from mlsiege.targets import ensure_budgeted

__all__ = ["ATLAS", "POINT_COLUMNS", "run_evasion", "summarize_points"]

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


def _unit(scale: Any, schema: Schema, pool_X: Any, X: np.ndarray) -> DistanceUnit:
    """The named distance unit; by default the std over the pool, else over the attacked rows."""
    if pool_X is not None and len(pool_X) >= 2:
        rows, source = np.asarray(pool_X, dtype=float), "pool"
    else:
        rows, source = X, "attacked"
    if scale is not None:
        return distance_unit(scale, schema, rows, source)
    try:
        return distance_unit("std", schema, rows, source)
    except ConfigError:  # one row and no pool: nothing to measure a spread on
        return distance_unit("range", schema)


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
    on_point: Callable[[dict[str, Any]], None] | None = None,
    point_ids: Sequence[int] | None = None,
) -> AttackResult:
    """Run ``search`` on every row of ``X`` and assemble the :class:`AttackResult`.

    ``scale`` names the distance unit (:func:`~mlsiege.attacks.evasion.units.distance_unit`:
    ``"std"``, ``"range"``, ``"raw"`` or an array; default ``std`` over the pool, else over ``X``).
    ``on_point(record)`` is called as each row finishes, with the row's line of the per-point
    table plus ``"adversarial"`` (so a caller can write rows as they finish and survive an
    interruption); ``point_ids`` names the rows (default ``0..n-1``) in records and seeds, so a
    resumed run attacks the rest exactly as an uninterrupted one would.
    """
    started = time.time()
    X = _check(X, schema, budget, pool_X, pool_y, y)
    ids = np.arange(len(X)) if point_ids is None else np.asarray(point_ids, dtype=int)
    if len(ids) != len(X):
        raise DataValidationError(f"point_ids has {len(ids)} ids for {len(X)} rows")
    target = ensure_budgeted(target)
    used0, calls0 = target.queries_used, target.calls
    unit = _unit(scale, schema, pool_X, X)
    scale_arr = unit.scale
    pool = Pool(None if pool_X is None else np.array(pool_X, dtype=float), None if pool_y is None else np.array(pool_y))
    n, d = X.shape
    adv = np.full((n, d), np.nan)
    records: list[dict[str, Any]] = []
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
                search(oracle, pool, np.random.default_rng([seed, int(ids[i])]), config)
        except QueryBudgetExceeded:
            total_out = total_out or target.remaining <= 0
            reason = "total_budget_exhausted" if target.remaining <= 0 else "point_budget_exhausted"
        if reason != "original_label_is_target" and oracle.best is not None and oracle.valid(oracle.best)[0]:
            adv[i] = oracle.best
            reason = None
        elif reason is None:
            reason = "no_adversarial_found"
        elif oracle.label is None:
            reason = "no_queries_left"
        ok = reason is None
        norms = perturbation_norms(adv[i : i + 1], X[i : i + 1], scale_arr)
        record = {
            "point": int(ids[i]), "original_label": oracle.label, "success": ok, "queries": int(sub.queries_used),
            **{k: float(v[0]) for k, v in norms.items()},
            "valid": bool(ok and schema.valid_mask(adv[i : i + 1], X[i : i + 1])[0]),
            "failure_reason": reason,
        }
        records.append(record)
        if on_point is not None:
            on_point({**record, "adversarial": adv[i].copy()})
    success = ~np.isnan(adv).any(axis=1)
    table = pd.DataFrame(records, columns=POINT_COLUMNS)
    table["failure_reason"] = table["failure_reason"].astype(object)
    metrics = summarize_points(table)
    metrics["distance_unit"] = unit.describe()
    if success.all() and n:
        status = "succeeded"
    elif total_out:
        status = "budget_exhausted"
    else:
        status = "partial" if success.any() else "failed"
    first_fail = next((r["failure_reason"] for r in records if r["failure_reason"] is not None), None)
    cfg = {**asdict(config), "budget": budget, "target_label": target_label, "threshold": threshold,
           "distance_unit": unit.name}
    return AttackResult(
        attack=name, status=status,
        artifacts={"adversarial": adv, "success": success, "points": table, "scale": scale_arr},
        queries=int(target.queries_used - used0), calls=int(target.calls - calls0),
        valid_rate=metrics["valid_rate"], seconds=time.time() - started, config=cfg, seed=seed,
        atlas_techniques=ATLAS, metrics=metrics, failure_reason=first_fail,
    )


#: columns of the per-point table (``points.csv``)
POINT_COLUMNS = ["point", "original_label", "success", "queries", "l0", "l2", "linf", "l2_std", "linf_std",
                 "valid", "failure_reason"]


def summarize_points(table: pd.DataFrame) -> dict[str, Any]:
    """The run's metrics from its per-point table (also from a ``points.csv`` read back)."""
    success = table["success"].to_numpy(dtype=bool)
    norms = {k: table[k].to_numpy(dtype=float) for k in ("l0", "l2", "linf", "l2_std", "linf_std")}
    valid = table["valid"].to_numpy(dtype=bool)
    return evasion_summary(success, table["queries"].to_numpy(dtype=int), norms, np.where(success, valid, False))
