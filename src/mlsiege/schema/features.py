"""One feature of a tabular feature space: its type, bounds, mutability and direction."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mlsiege.errors import SchemaError

__all__ = ["Constraint", "Feature"]

TYPES = ("real", "integer", "binary", "categorical")
MUTABILITY = ("mutable", "immutable", "derived")
DIRECTIONS = ("any", "increase", "decrease")


@dataclass(frozen=True)
class Feature:
    """A column of the feature space.

    Parameters
    ----------
    name
        Column name.
    type
        ``real``, ``integer``, ``binary`` or ``categorical`` (values are level codes 0..L-1 in
        the attack space; ``levels`` holds what each code means).
    lower, upper
        Fixed bounds (``None`` for unbounded); categorical and binary bounds are implied.
    mutability
        ``mutable`` (attacker-controlled), ``immutable`` (server-observed: the attacker cannot
        change it) or ``derived`` (recomputed from ``formula``).
    direction
        ``any``, or ``increase`` / ``decrease``: may only move that way from the original value.
    group
        Name of the one-hot group this binary feature belongs to (exactly one member is 1).
    """

    name: str
    type: str = "real"
    lower: float | None = None
    upper: float | None = None
    levels: tuple[Any, ...] | None = None
    mutability: str = "mutable"
    direction: str = "any"
    formula: str | None = None
    group: str | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise SchemaError(f"a feature needs a non-empty name, got {self.name!r}")
        if self.type not in TYPES:
            raise SchemaError(f"type must be one of {TYPES}, got {self.type!r}", feature=self.name)
        if self.mutability not in MUTABILITY:
            raise SchemaError(f"mutability must be one of {MUTABILITY}, got {self.mutability!r}", feature=self.name)
        if self.direction not in DIRECTIONS:
            raise SchemaError(f"direction must be one of {DIRECTIONS}, got {self.direction!r}", feature=self.name)
        for side in ("lower", "upper"):
            v = getattr(self, side)
            if v is not None and (not isinstance(v, (int, float)) or math.isnan(v)):
                raise SchemaError(f"{side} bound must be a number, got {v!r}", feature=self.name)
        if self.lower is not None and self.upper is not None and self.lower > self.upper:
            raise SchemaError(f"bounds inverted: lower {self.lower} > upper {self.upper}", feature=self.name)
        if self.type == "categorical":
            if not self.levels:
                raise SchemaError("a categorical feature needs its levels", feature=self.name)
            if len(set(self.levels)) != len(self.levels):
                raise SchemaError("categorical levels repeat", feature=self.name)
            object.__setattr__(self, "levels", tuple(self.levels))
        elif self.levels is not None:
            raise SchemaError(f"levels given for a {self.type} feature", feature=self.name)
        if self.mutability == "derived" and not self.formula:
            raise SchemaError("a derived feature needs a formula", feature=self.name)
        if self.formula and self.mutability != "derived":
            raise SchemaError("a formula is given but mutability is not 'derived'", feature=self.name)
        if self.group is not None and self.type != "binary":
            raise SchemaError("only binary features can belong to a one-hot group", feature=self.name)

    @property
    def low(self) -> float:
        """Lower bound in the numeric attack space (``-inf`` when unbounded)."""
        if self.type == "categorical":
            return 0.0
        if self.type == "binary":
            return 0.0 if self.lower is None else max(0.0, float(self.lower))
        return -math.inf if self.lower is None else float(self.lower)

    @property
    def high(self) -> float:
        """Upper bound in the numeric attack space (``inf`` when unbounded)."""
        if self.type == "categorical":
            return float(len(self.levels or ()) - 1)
        if self.type == "binary":
            return 1.0 if self.upper is None else min(1.0, float(self.upper))
        return math.inf if self.upper is None else float(self.upper)

    @property
    def is_discrete(self) -> bool:
        return self.type != "real"

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "type": self.type}
        if self.lower is not None or self.upper is not None:
            out["bounds"] = [self.lower, self.upper]
        if self.levels is not None:
            out["levels"] = list(self.levels)
        if self.mutability != "mutable":
            out["mutability"] = self.mutability
        if self.direction != "any":
            out["direction"] = self.direction
        if self.formula:
            out["formula"] = self.formula
        if self.group:
            out["group"] = self.group
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Feature:
        if not isinstance(data, dict) or "name" not in data:
            raise SchemaError(f"a feature entry must be a mapping with a name, got {data!r}")
        known = {"name", "type", "bounds", "lower", "upper", "levels", "mutability", "direction", "formula", "group"}
        extra = set(data) - known
        if extra:
            raise SchemaError(f"unknown keys {sorted(extra)}", feature=data["name"])
        lower, upper = data.get("lower"), data.get("upper")
        if "bounds" in data:
            b = data["bounds"]
            if not isinstance(b, (list, tuple)) or len(b) != 2:
                raise SchemaError(f"bounds must be [lower, upper], got {b!r}", feature=data["name"])
            lower, upper = b
        levels = data.get("levels")
        return cls(
            name=data["name"],
            type=data.get("type", "real"),
            lower=lower,
            upper=upper,
            levels=tuple(levels) if levels is not None else None,
            mutability=data.get("mutability", "mutable"),
            direction=data.get("direction", "any"),
            formula=data.get("formula"),
            group=data.get("group"),
        )


#: keys a constraint entry of a schema file may hold
CONSTRAINT_KEYS = ("expr", "name", "tolerance", "inferred", "support")


@dataclass(frozen=True)
class Constraint:
    """A relational constraint such as ``"fill_seconds >= 2 * fields_filled"``.

    Parameters
    ----------
    expr
        The relation (see :mod:`mlsiege.schema.expressions`); a categorical feature may be
        compared with one of its level names: ``"status != 'refused' or payload == 0"``.
    name
        A label for reports (default: the expression).
    tolerance
        Slack of the relation: ``a == b`` holds when ``|a - b| <= tolerance`` (default 1e-6);
        ``a <= b`` holds when ``a <= b + tolerance`` (default 0, exact).
    inferred
        True when ``mlsiege schema infer`` mined the relation from data (it held on every row);
        delete the entry from the YAML to drop it.
    support
        Rows on which an inferred relation was checked and held.
    """

    expr: str
    name: str | None = None
    tolerance: float | None = None
    inferred: bool = False
    support: int | None = None

    def __post_init__(self) -> None:
        if self.tolerance is not None:
            tol = self.tolerance
            if isinstance(tol, bool) or not isinstance(tol, (int, float)) or math.isnan(tol) or tol < 0:
                raise SchemaError(f"constraint {self.label!r}: tolerance must be a number >= 0, got {tol!r}")
            object.__setattr__(self, "tolerance", float(tol))
        if self.support is not None and (isinstance(self.support, bool) or int(self.support) != self.support):
            raise SchemaError(f"constraint {self.label!r}: support must be a row count, got {self.support!r}")

    @property
    def label(self) -> str:
        return self.name or self.expr

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"expr": self.expr}
        if self.name:
            out["name"] = self.name
        if self.tolerance is not None:
            out["tolerance"] = self.tolerance
        if self.inferred:
            out["inferred"] = True
        if self.support is not None:
            out["support"] = int(self.support)
        return out

    @classmethod
    def from_dict(cls, data: Any) -> Constraint:
        """A constraint from a schema file entry: a string, or a mapping with an ``expr``."""
        if isinstance(data, str):
            return cls(data)
        if not isinstance(data, dict) or "expr" not in data:
            raise SchemaError(f"a constraint must be a string or have an 'expr', got {data!r}")
        extra = set(data) - set(CONSTRAINT_KEYS)
        if extra:
            raise SchemaError(f"constraint {data['expr']!r}: unknown keys {sorted(extra)} (valid: {', '.join(CONSTRAINT_KEYS)})")
        tol = data.get("tolerance")
        return cls(str(data["expr"]), data.get("name"), tol, bool(data.get("inferred", False)), data.get("support"))
