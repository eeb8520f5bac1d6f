"""The feature space of a tabular target and its domain constraints.

A :class:`Schema` is the contract between the application and the attacker: which rows are
valid at all. Every evasion and poisoning attack must return rows that satisfy it, and
``valid_rate`` is reported for every attack (TabularBench, Simonetto et al. 2024: an invalid
adversarial example overstates the threat).

Rows live in a numeric *attack space*: a float array whose columns follow ``schema.names``;
categorical features hold level codes. :meth:`Schema.encode` / :meth:`Schema.decode` convert
to and from a DataFrame of real values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import DataValidationError, SchemaError
from mlsiege.schema.expressions import Expression
from mlsiege.schema.features import Constraint, Feature

__all__ = ["Schema", "Violation", "read_schema"]

SCHEMA_VERSION = 1
ATOL = 1e-6


@dataclass(frozen=True)
class Violation:
    """One broken rule on one row, as reported by :meth:`Schema.explain`."""

    row: int
    rule: str
    amount: float


class Schema:
    """Features, one-hot groups, derived features and relational constraints.

    Examples
    --------
    >>> import numpy as np
    >>> s = Schema([Feature("a", "integer", 0, 10), Feature("b", "real", 0, 1)], ["a * 0.1 <= b"])
    >>> s.valid_mask(np.array([[5, 0.7], [5, 0.2]])).tolist()
    [True, False]
    >>> s.project(np.array([[5, 0.2]])).round(2).tolist()
    [[2.0, 0.2]]
    """

    def __init__(
        self, features: Sequence[Feature], constraints: Iterable[Constraint | str] = ()
    ) -> None:
        if not features:
            raise SchemaError("a schema needs at least one feature")
        self.features: tuple[Feature, ...] = tuple(features)
        self.names: list[str] = [f.name for f in self.features]
        seen: set[str] = set()
        for name in self.names:
            if name in seen:
                raise SchemaError("appears twice", feature=name)
            seen.add(name)
        self._index = {n: i for i, n in enumerate(self.names)}
        self.constraints: tuple[Constraint, ...] = tuple(
            c if isinstance(c, Constraint) else Constraint(str(c)) for c in constraints
        )
        levels = {f.name: f.levels for f in self.features if f.type == "categorical"}
        self._exprs = [Expression(c.expr, c.tolerance, levels) for c in self.constraints]
        for c, e in zip(self.constraints, self._exprs, strict=True):
            if not e.is_condition:
                raise SchemaError(f"constraint {c.label!r} is not a comparison")
            self._check_names(e.names, f"constraint {c.label!r}")
        self._formulas: dict[int, Expression] = {}
        for i, f in enumerate(self.features):
            if f.mutability == "derived":
                e = Expression(f.formula or "")
                if e.is_condition:
                    raise SchemaError("formula must be a value, not a comparison", feature=f.name)
                self._check_names(e.names, f"formula of {f.name!r}", feature=f.name)
                if f.name in e.names:
                    raise SchemaError("formula refers to the feature itself", feature=f.name)
                self._formulas[i] = e
        self._derived_order = self._topological_derived()
        groups: dict[str, list[int]] = {}
        for i, f in enumerate(self.features):
            if f.group:
                groups.setdefault(f.group, []).append(i)
        self.groups: dict[str, list[int]] = groups
        self.low = np.array([f.low for f in self.features])
        self.high = np.array([f.high for f in self.features])

    # ------------------------------------------------------------------ structure
    def _check_names(self, names: Iterable[str], where: str, feature: str | None = None) -> None:
        for n in names:
            if n not in self._index:
                raise SchemaError(f"{where} refers to unknown feature {n!r}", feature=feature or n)

    def _topological_derived(self) -> list[int]:
        order: list[int] = []
        state: dict[int, int] = {}

        def visit(i: int) -> None:
            if state.get(i) == 2:
                return
            if state.get(i) == 1:
                raise SchemaError("derived features form a cycle", feature=self.names[i])
            state[i] = 1
            for n in self._formulas[i].names:
                j = self._index[n]
                if j in self._formulas:
                    visit(j)
            state[i] = 2
            order.append(i)

        for i in self._formulas:
            visit(i)
        return order

    @property
    def n_features(self) -> int:
        return len(self.features)

    def index(self, name: str) -> int:
        """Column position of ``name``."""
        try:
            return self._index[name]
        except KeyError:
            raise SchemaError("not in the schema", feature=name) from None

    def __getitem__(self, name: str) -> Feature:
        return self.features[self.index(name)]

    def mask(self, mutability: str) -> np.ndarray:
        """Boolean column mask of the features with that mutability."""
        return np.array([f.mutability == mutability for f in self.features])

    @property
    def mutable_mask(self) -> np.ndarray:
        return self.mask("mutable")

    @property
    def discrete_mask(self) -> np.ndarray:
        return np.array([f.is_discrete for f in self.features])

    def scale(self) -> np.ndarray:
        """A per-feature range (upper - lower, 1 where unbounded or constant) for distances."""
        span = self.high - self.low
        return np.where(np.isfinite(span) & (span > 0), span, 1.0)

    def drop(self, names: Iterable[str]) -> Schema:
        """A schema without ``names`` (constraints and formulas that read them are dropped)."""
        names = set(names)
        feats = [f for f in self.features if f.name not in names]
        for i, f in enumerate(feats):
            if f.mutability == "derived" and names & set(self._formulas[self.index(f.name)].names):
                feats[i] = Feature(f.name, f.type, f.lower, f.upper, f.levels, "mutable", f.direction, None, f.group)
        cons = [c for c, e in zip(self.constraints, self._exprs, strict=True) if not names & set(e.names)]
        return Schema(feats, cons)

    # ------------------------------------------------------------------ frames
    def encode(self, frame: pd.DataFrame) -> np.ndarray:
        """Attack-space array from a DataFrame; unknown categorical levels become NaN.

        Raises :class:`DataValidationError` naming missing columns or non-numeric values.
        """
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise DataValidationError(f"columns missing from the data: {missing}", columns=missing)
        out = np.empty((len(frame), self.n_features), dtype=float)
        for j, f in enumerate(self.features):
            col = frame[f.name]
            if f.type == "categorical":
                lookup = {_norm(v): k for k, v in enumerate(f.levels or ())}
                out[:, j] = [lookup.get(_norm(v), np.nan) for v in col]
            else:
                num = pd.to_numeric(col, errors="coerce")
                bad = np.flatnonzero(num.isna().to_numpy() & col.notna().to_numpy())
                if len(bad):
                    raise DataValidationError(
                        f"column {f.name!r} holds non-numeric values such as {col.iloc[bad[0]]!r}",
                        rows=bad.tolist(), columns=[f.name],
                    )
                out[:, j] = num.to_numpy(dtype=float)
        return out

    def decode(self, X: np.ndarray) -> pd.DataFrame:
        """DataFrame of real values (levels for categoricals, ints for discrete features)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.n_features:
            raise DataValidationError(f"expected {self.n_features} columns, got {X.shape[1]}")
        cols: dict[str, Any] = {}
        for j, f in enumerate(self.features):
            v = X[:, j]
            if f.type == "categorical":
                codes = np.clip(np.nan_to_num(np.round(v), nan=0), 0, len(f.levels or ()) - 1).astype(int)
                cols[f.name] = np.asarray(f.levels, dtype=object)[codes]
            elif f.type in ("integer", "binary") and np.all(np.isfinite(v)):
                cols[f.name] = np.round(v).astype(np.int64)
            else:
                cols[f.name] = v
        return pd.DataFrame(cols)

    # ------------------------------------------------------------------ violations
    def _columns(self, X: np.ndarray) -> dict[str, np.ndarray]:
        return {n: X[:, j] for j, n in enumerate(self.names)}

    def violations(self, X: np.ndarray, original: np.ndarray | None = None) -> dict[str, np.ndarray]:
        """Per-rule violation amounts (>= 0, 0 = satisfied), one array of length ``n`` per rule.

        Rules: ``bounds:F``, ``type:F`` (integrality / known level), ``group:G`` (one-hot),
        ``immutable:F`` and ``direction:F`` (against ``original``), ``derived:F`` and each
        constraint by its label.
        """
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if X.shape[1] != self.n_features:
            raise DataValidationError(f"expected {self.n_features} columns, got {X.shape[1]}")
        out: dict[str, np.ndarray] = {}
        nan = np.isnan(X)
        below = np.maximum(0.0, self.low - X)
        above = np.maximum(0.0, X - self.high)
        with np.errstate(invalid="ignore"):
            bound = np.where(nan, np.inf, below + above)
        disc = self.discrete_mask
        frac = np.where(nan, np.inf, np.abs(X - np.round(X)))
        for j, f in enumerate(self.features):
            out[f"bounds:{f.name}"] = bound[:, j]
            if disc[j]:
                out[f"type:{f.name}"] = frac[:, j]
        for g, idx in self.groups.items():
            out[f"group:{g}"] = np.abs(X[:, idx].sum(axis=1) - 1.0)
        if original is not None:
            orig = np.broadcast_to(np.atleast_2d(np.asarray(original, dtype=float)), X.shape)
            for j, f in enumerate(self.features):
                if f.mutability == "immutable":
                    out[f"immutable:{f.name}"] = np.abs(X[:, j] - orig[:, j])
                if f.direction == "increase":
                    out[f"direction:{f.name}"] = np.maximum(0.0, orig[:, j] - X[:, j])
                elif f.direction == "decrease":
                    out[f"direction:{f.name}"] = np.maximum(0.0, X[:, j] - orig[:, j])
        cols = self._columns(X)
        for i, e in self._formulas.items():
            f = self.features[i]
            target = self._snap_values(e.value(cols), i)
            diff = np.abs(X[:, i] - target)
            out[f"derived:{f.name}"] = np.where(np.isnan(diff), np.inf, np.maximum(0.0, diff - 1e-6 * (1 + np.abs(target))))
        for c, e in zip(self.constraints, self._exprs, strict=True):
            out[c.label] = e.violation(cols)
        return out

    def valid_mask(self, X: np.ndarray, original: np.ndarray | None = None, atol: float = ATOL) -> np.ndarray:
        """True for the rows that satisfy every rule (within ``atol``)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        ok = np.ones(len(X), dtype=bool)
        for v in self.violations(X, original).values():
            ok &= v <= atol
        return ok

    def total_violation(self, X: np.ndarray, original: np.ndarray | None = None) -> np.ndarray:
        """Sum of all violation amounts per row (MOEVA's constraint objective)."""
        X = np.atleast_2d(np.asarray(X, dtype=float))
        total = np.zeros(len(X))
        for v in self.violations(X, original).values():
            total = total + np.where(np.isfinite(v), v, 1e12)
        return total

    def explain(self, X: np.ndarray, original: np.ndarray | None = None, limit: int = 20) -> list[Violation]:
        """The first ``limit`` broken rules, row by row, for humans."""
        found: list[Violation] = []
        viol = self.violations(X, original)
        rows = np.flatnonzero(~self.valid_mask(X, original))
        for r in rows:
            for rule, v in viol.items():
                if v[r] > ATOL:
                    found.append(Violation(int(r), rule, float(v[r])))
                    if len(found) >= limit:
                        return found
        return found

    def check_frame(self, frame: pd.DataFrame) -> tuple[np.ndarray, list[Violation]]:
        """Validate a DataFrame: (valid mask, first violations). Unknown levels are violations."""
        X = self.encode(frame)
        return self.valid_mask(X), self.explain(X)

    # ------------------------------------------------------------------ repair
    def _snap_values(self, v: np.ndarray, j: int) -> np.ndarray:
        f = self.features[j]
        if f.is_discrete:
            v = np.round(v)
        return v

    def recompute_derived(self, X: np.ndarray) -> np.ndarray:
        """Recompute every derived feature from its formula (in dependency order), in a copy."""
        X = np.array(X, dtype=float, copy=True)
        for i in self._derived_order:
            X[:, i] = self._snap_values(self._formulas[i].value(self._columns(X)), i)
        return X

    def repair(self, X: np.ndarray, original: np.ndarray | None = None) -> np.ndarray:
        """Snap types and bounds, one-hot groups, immutables, directions; recompute derived.

        Relational constraints are left to :meth:`project`. Returns a new array.
        """
        X = np.array(np.atleast_2d(X), dtype=float, copy=True)
        orig = None if original is None else np.broadcast_to(np.atleast_2d(np.asarray(original, dtype=float)), X.shape)
        lo, hi = self.low, self.high
        if orig is not None:
            imm = self.mask("immutable")
            X[:, imm] = orig[:, imm]
            inc = np.array([f.direction == "increase" for f in self.features])
            dec = np.array([f.direction == "decrease" for f in self.features])
            lo = np.where(inc, np.maximum(lo, orig), lo)
            hi = np.where(dec, np.minimum(hi, orig), hi)
        lo = np.broadcast_to(lo, X.shape)
        hi = np.broadcast_to(hi, X.shape)
        fill = np.where(np.isfinite(lo), lo, np.where(np.isfinite(hi), hi, 0.0))
        X = np.where(np.isnan(X), fill, X)
        X = np.clip(X, lo, hi)
        disc = np.broadcast_to(self.discrete_mask, X.shape)
        X = np.where(disc, np.round(X), X)
        # rounding can leave a discrete value outside a fractional bound: step back inside
        X = np.where(disc & (X < lo), np.ceil(lo - 1e-12), X)
        X = np.where(disc & (X > hi), np.floor(hi + 1e-12), X)
        for idx in self.groups.values():
            block = X[:, idx]
            winner = np.argmax(block, axis=1)
            X[:, idx] = 0.0
            X[np.arange(len(X)), np.asarray(idx)[winner]] = 1.0
        return self.recompute_derived(X)

    def project(self, X: np.ndarray, original: np.ndarray | None = None) -> np.ndarray:
        """Bring rows into the feasible set: repair, then solve the relational constraints.

        Linear constraints are solved exactly per row as a mixed-integer program minimising the
        range-scaled L1 move (scipy's HiGHS); other constraints by a line search back toward
        ``original`` when it is valid. Rows that cannot be made valid are returned repaired;
        :meth:`valid_mask` tells which.
        """
        from mlsiege.schema.projection import project_rows

        return project_rows(self, X, original)

    # ------------------------------------------------------------------ I/O
    def to_dict(self) -> dict[str, Any]:
        return {
            "version": SCHEMA_VERSION,
            "features": [f.to_dict() for f in self.features],
            "constraints": [c.to_dict() for c in self.constraints],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        if not isinstance(data, Mapping) or "features" not in data:
            raise SchemaError("a schema document needs a 'features' list")
        feats = data["features"]
        if not isinstance(feats, list):
            raise SchemaError("'features' must be a list")
        cons = [Constraint.from_dict(c) for c in data.get("constraints") or []]
        return cls([Feature.from_dict(dict(f)) for f in feats], cons)

    def to_yaml(self, path: str | Path | None = None) -> str:
        import yaml

        text = yaml.safe_dump(self.to_dict(), sort_keys=False, default_flow_style=None, width=100)
        if path is not None:
            Path(path).write_text(text)
        return text

    @classmethod
    def from_yaml(cls, source: str | Path) -> Schema:
        """Load a schema from a YAML file path (or YAML text)."""
        import yaml

        text = Path(source).read_text() if _looks_like_path(source) else str(source)
        try:
            data = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise SchemaError(f"invalid YAML in schema {source}: {exc}") from exc
        return cls.from_dict(data or {})

    @classmethod
    def infer(cls, frame: pd.DataFrame, **kwargs: Any) -> Schema:
        """Draft a schema from data; see :func:`mlsiege.schema.infer.infer_schema`."""
        from mlsiege.schema.infer import infer_schema

        return infer_schema(frame, **kwargs)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Schema) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(tuple(self.names))

    def __repr__(self) -> str:
        return f"Schema({self.n_features} features, {len(self.constraints)} constraints)"


def _norm(value: Any) -> Any:
    """Compare categorical levels across CSV round-trips: 1, 1.0 and '1' are one level."""
    if isinstance(value, (np.generic,)):
        value = value.item()
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def read_schema(path: str | Path) -> Schema:
    """The schema in a YAML file; a missing file is a one-line :class:`DataValidationError`."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"schema file not found: {path}")
    return Schema.from_yaml(path)


def _looks_like_path(source: str | Path) -> bool:
    if isinstance(source, Path):
        return True
    return "\n" not in source and (source.endswith((".yaml", ".yml")) or Path(source).exists())
