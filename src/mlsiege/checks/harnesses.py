"""Tiny problems, one per family, on which the conformance checks run a component.

The calling convention of each family is fixed here; a recipe that follows it passes through
the same checks as every other recipe of its family.

* ``evasion``: ``recipe(target, X, *, schema, pool_X, pool_y, budget, seed)`` ->
  :class:`AttackResult` with ``artifacts["adversarial"]`` (NaN rows where a point failed) and
  ``artifacts["success"]``; ``budget`` is per point, ``target`` a :class:`Budgeted`.
* ``extraction``: ``recipe(target, *, schema, pool_X, budget, seed)`` -> :class:`AttackResult`
  with ``artifacts["surrogate"]`` and ``artifacts["queried"]`` (the rows it sent).
* ``poisoning``: ``recipe(X, y, *, schema, seed)`` -> :class:`AttackResult` with
  ``artifacts["X_poisoned"]``, ``artifacts["y_poisoned"]`` and ``artifacts["is_poison"]``.
* ``data_defense``: ``defense(X, y, meta, *, seed)`` -> :class:`DefenseResult` over records.
* ``reco_attack`` / ``reco_defense``: see :mod:`mlsiege.checks.reco`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from mlsiege.checks.common import CountingTarget, Harness
from mlsiege.results import DefenseResult
from mlsiege.schema import Constraint, Feature, Schema

__all__ = ["data_defense_harness", "evasion_harness", "extraction_harness", "poisoning_harness", "tiny_schema", "tiny_world"]


def tiny_schema() -> Schema:
    """Four features of every kind the checks care about, and one linear relation."""
    return Schema(
        [
            Feature("x0", "real", 0.0, 1.0),
            Feature("x1", "real", 0.0, 1.0),
            Feature("n", "integer", 0, 10),
            Feature("site", "categorical", levels=("a", "b", "c"), mutability="immutable"),
        ],
        [Constraint("x0 + x1 <= 1.6", name="budget")],
    )


def _label(X: np.ndarray) -> np.ndarray:
    return (X[:, 0] + 0.5 * X[:, 1] + 0.02 * X[:, 2] > 0.8).astype(int)


def _proba(X: np.ndarray) -> np.ndarray:
    p = 1.0 / (1.0 + np.exp(-8.0 * (X[:, 0] + 0.5 * X[:, 1] + 0.02 * X[:, 2] - 0.8)))
    return np.column_stack([1 - p, p])


def tiny_world(seed: int = 0, n: int = 120) -> dict[str, Any]:
    """Valid rows, their labels under the tiny target, and a source column for defenses."""
    rng = np.random.default_rng(seed)
    schema = tiny_schema()
    X = np.column_stack([rng.uniform(0, 1, n), rng.uniform(0, 0.6, n), rng.integers(0, 11, n), rng.integers(0, 3, n)]).astype(float)
    X = schema.project(X)
    y = _label(X)
    return {"X": X, "y": y, "schema": schema}


def _target() -> CountingTarget:
    return CountingTarget(_label, "classifier", proba=_proba)


def evasion_harness() -> Harness:
    world = tiny_world()
    X, y = world["X"], world["y"]
    attack_idx = np.flatnonzero(y == 1)[:4]
    pool_idx = np.setdiff1d(np.arange(len(X)), attack_idx)[:60]

    def data() -> dict[str, Any]:
        return {"X": X[attack_idx].copy(), "pool_X": X[pool_idx].copy(), "pool_y": y[pool_idx].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(target, d["X"], schema=world["schema"], pool_X=d["pool_X"], pool_y=d["pool_y"], budget=40, seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, np.ndarray] | None:
        ok = np.asarray(result.artifacts["success"], dtype=bool)
        return np.asarray(result.artifacts["adversarial"])[ok], d["X"][ok]

    # 4 points x 40 per point = 160 > 120: the total budget runs out mid-attack on purpose
    return Harness("evasion", run, data, _target, budget=120, schema=world["schema"], produced=produced)


def extraction_harness() -> Harness:
    world = tiny_world(1)

    def data() -> dict[str, Any]:
        return {"pool_X": world["X"][:40].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(target, schema=world["schema"], pool_X=d["pool_X"], budget=60, seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, None] | None:
        queried = result.artifacts.get("queried")
        return None if queried is None else (np.asarray(queried), None)

    return Harness("extraction", run, data, _target, budget=60, schema=world["schema"], produced=produced)


def poisoning_harness() -> Harness:
    world = tiny_world(2)

    def data() -> dict[str, Any]:
        return {"X": world["X"].copy(), "y": world["y"].copy()}

    def run(recipe: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return recipe(d["X"], d["y"], schema=world["schema"], seed=seed)

    def produced(result: Any, d: dict[str, Any]) -> tuple[np.ndarray, None]:
        return np.asarray(result.artifacts["X_poisoned"]), None

    return Harness("poisoning", run, data, None, schema=world["schema"], produced=produced)


def data_defense_harness() -> Harness:
    world = tiny_world(3, n=160)
    rng = np.random.default_rng(3)
    X, y = world["X"].copy(), world["y"].copy()
    flip = rng.choice(len(y), 12, replace=False)
    y[flip] = 1 - y[flip]
    meta = pd.DataFrame({"source": rng.integers(0, 8, len(y)).astype(str), "batch": rng.integers(0, 4, len(y))})

    def data() -> dict[str, Any]:
        return {"X": X.copy(), "y": y.copy(), "meta": meta.copy()}

    def run(defense: Any, target: Any, d: dict[str, Any], seed: int) -> Any:
        return defense(d["X"], d["y"], d["meta"], seed=seed)

    return Harness("data_defense", run, data, None, schema=world["schema"], result_type=DefenseResult)
