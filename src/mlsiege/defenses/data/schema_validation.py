"""Schema validation at ingest, through a pandera schema generated from the mlsiege schema.

:func:`pandera_schema` turns a :class:`~mlsiege.schema.Schema` into a
``pandera.DataFrameSchema`` (types, bounds, levels, one-hot groups, derived formulas and
relations, the last two evaluated by the mlsiege schema itself, so nothing is written twice).
:func:`validate_frame` and :func:`validate_file` raise :class:`DataValidationError` naming the
rows and rules that failed; :func:`schema_validation` is the data defense (keep mask).
Needs the ``pandera`` extra.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.defenses.data.cost import COST_OPTIONS, defense_result
from mlsiege.errors import DataValidationError
from mlsiege.extras import require
from mlsiege.options import check_options
from mlsiege.schema import Schema

__all__ = ["SchemaValidationConfig", "pandera_schema", "schema_validation", "validate_file", "validate_frame"]


def _row_check(schema: Schema, rule_prefix: str | None) -> Any:
    """A frame-level check: rows whose encoded values break the schema's rules of one kind."""

    def check(frame: pd.DataFrame) -> pd.Series:
        try:
            X = schema.encode(frame)
        except DataValidationError:
            return pd.Series(False, index=frame.index)
        ok = np.ones(len(frame), dtype=bool)
        for rule, amount in schema.violations(X).items():
            if rule_prefix is None or rule.startswith(rule_prefix):
                ok &= np.nan_to_num(amount, nan=np.inf) <= 1e-6
        return pd.Series(ok, index=frame.index)

    return check


def pandera_schema(schema: Schema) -> Any:
    """A ``pandera.DataFrameSchema`` equivalent to ``schema`` over real-valued frames.

    Examples
    --------
    >>> from mlsiege.checks.harnesses import tiny_schema
    >>> ps = pandera_schema(tiny_schema())
    >>> sorted(ps.columns)
    ['n', 'site', 'x0', 'x1']
    """
    pa = require("pandera.pandas", extra="data", package="pandera")
    columns = {}
    for f in schema.features:
        checks = []
        if f.type == "categorical":
            checks.append(pa.Check.isin(list(f.levels or ())))
            columns[f.name] = pa.Column(object, checks=checks, nullable=False, coerce=False)
            continue
        if np.isfinite(f.low):
            checks.append(pa.Check.ge(f.low))
        if np.isfinite(f.high):
            checks.append(pa.Check.le(f.high))
        if f.type in ("integer", "binary"):
            checks.append(pa.Check(lambda s: (s - s.round()).abs() < 1e-9, name=f"{f.type}_values"))
        columns[f.name] = pa.Column(float, checks=checks, nullable=False, coerce=True)
    frame_checks = []
    if schema.groups:
        frame_checks.append(pa.Check(_row_check(schema, "group:"), name="one_hot_groups"))
    if any(f.mutability == "derived" for f in schema.features):
        frame_checks.append(pa.Check(_row_check(schema, "derived:"), name="derived_formulas"))
    for c in schema.constraints:
        frame_checks.append(pa.Check(_row_check(schema, c.label), name=f"relation {c.label}"))
    return pa.DataFrameSchema(columns, checks=frame_checks, strict=False)


def _numeric(frame: pd.DataFrame, schema: Schema) -> tuple[pd.DataFrame, dict[int, list[str]]]:
    """Numeric columns coerced; non-numeric cells recorded as failures (row -> rules)."""
    out = frame.copy()
    bad: dict[int, list[str]] = {}
    for f in schema.features:
        if f.type == "categorical" or f.name not in out.columns:
            continue
        num = pd.to_numeric(out[f.name], errors="coerce")
        for r in np.flatnonzero(num.isna().to_numpy() | ~np.isfinite(num.to_numpy(dtype=float, na_value=np.nan))):
            bad.setdefault(int(r), []).append(f"{f.name}: not a finite number ({out[f.name].iloc[r]!r})")
        out[f.name] = num.astype(float)
    return out, bad


def failures(frame: pd.DataFrame, schema: Schema) -> dict[int, list[str]]:
    """Row position -> the rules it breaks (empty when every row is valid)."""
    pa = require("pandera.pandas", extra="data", package="pandera")
    missing = [n for n in schema.names if n not in frame.columns]
    if missing:
        raise DataValidationError(f"columns missing from the data: {missing}", columns=missing)
    frame = frame.reset_index(drop=True)
    coerced, bad = _numeric(frame, schema)
    try:
        pandera_schema(schema).validate(coerced, lazy=True)
    except pa.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        for _, case in cases.iterrows():
            idx = case.get("index")
            if idx is None or pd.isna(idx):
                continue
            where = case.get("column") if isinstance(case.get("column"), str) else "row"
            bad.setdefault(int(idx), []).append(f"{where}: {case.get('check')}")
    return {r: sorted(set(v)) for r, v in sorted(bad.items())}


def validate_frame(frame: pd.DataFrame, schema: Schema, *, name: str = "data") -> pd.DataFrame:
    """Return ``frame`` if every row fits ``schema``; else raise naming the rows and rules.

    The error's ``rows`` attribute holds every failing row position, so a caller can drop
    them and keep going with what is valid.
    """
    bad = failures(frame, schema)
    if bad:
        first = next(iter(bad))
        raise DataValidationError(
            f"{name}: {len(bad)} of {len(frame)} rows break the schema, e.g. row {first}: {'; '.join(bad[first][:3])}",
            rows=list(bad),
        )
    return frame


def validate_file(path: str | Path, schema: Schema) -> pd.DataFrame:
    """Read a CSV/Parquet file and validate it; a corrupt file or bad rows raise one clear error."""
    from mlsiege.datasets.tables import read_table

    path = Path(path)
    frame = read_table(path, allow_empty=True)
    return validate_frame(frame, schema, name=str(path))


@dataclass(frozen=True)
class SchemaValidationConfig:
    """Whether a ``schema`` was given (without one only non-finite rows are flagged)."""

    with_schema: bool = False


def schema_validation(X: Any, y: Any, meta: Any = None, *, seed: int = 0, **options: Any) -> Any:
    """Drop records that break the schema (types, bounds, levels, groups, formulas, relations).

    Input validation in the sense of Breck et al. (2019), "Data validation for machine
    learning", SysML: records are decoded to real values and checked by a pandera schema
    generated from the mlsiege schema (:func:`pandera_schema`). Without ``schema`` only rows
    holding NaN or inf are dropped. The score is the number of broken rules.

    Parameters
    ----------
    X, y, meta
        Records (attack space), labels, metadata (unused).
    seed
        Unused; kept for the calling convention.
    **options
        ``schema``; ``is_poison``, ``X_test``, ``y_test`` for the costs.

    Returns
    -------
    DefenseResult
        ``groups`` holds up to 20 failing rows with their broken rules.
    """
    check_options("schema_validation", options, ("schema", *COST_OPTIONS))
    started = time.perf_counter()
    schema = options.pop("schema", None)
    config = SchemaValidationConfig(with_schema=schema is not None)
    X = np.array(X, dtype=float, copy=True)
    y = np.array(y, copy=True)
    if X.ndim != 2 or y.shape != (len(X),):
        raise DataValidationError(f"X must be 2-D with one label per row, got {X.shape} and {y.shape}")
    finite = np.isfinite(X).all(axis=1)
    scores = (~np.isfinite(X)).sum(axis=1).astype(float)
    bad: dict[int, list[str]] = {int(r): ["non-finite value"] for r in np.flatnonzero(~finite)}
    if schema is not None:
        if X.shape[1] != schema.n_features:
            raise DataValidationError(f"X has {X.shape[1]} columns, the schema {schema.n_features}")
        frame = schema.decode(np.where(np.isfinite(X), X, 0.0))
        cat = [j for j, f in enumerate(schema.features) if f.type == "categorical"]
        for j in cat:  # decode clips unknown level codes: flag them before they vanish
            codes = X[:, j]
            wrong = ~np.isfinite(codes) | (codes < 0) | (codes > len(schema.features[j].levels) - 1) | (codes != np.round(codes))
            for r in np.flatnonzero(wrong):
                bad.setdefault(int(r), []).append(f"{schema.features[j].name}: unknown level code")
        for r, rules in failures(frame, schema).items():
            bad.setdefault(r, []).extend(rules)
        scores = np.array([len(bad.get(r, [])) for r in range(len(X))], dtype=float)
    keep = np.array([r not in bad for r in range(len(X))])
    X_cost = np.where(np.isfinite(X), X, 0.0)
    return defense_result("schema_validation", keep, scores, X=X_cost, y=y, config=config, seed=seed, started=started,
                          mitigations=("AML.M0007",), options=options,
                          groups={str(r): v for r, v in list(bad.items())[:20]})
