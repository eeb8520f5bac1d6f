"""The one distance unit of an evasion run: chosen, named, and the same in CLI, scan and reports.

Standardized distances divide each feature's change by a per-feature *unit*. The choices:

* ``std`` (default): the feature's standard deviation over the rows the attacker knows (the
  pool, else the rows under attack; a scan uses the user's rows). A change of 1 is "one typical
  variation" of that feature;
* ``range``: the schema's upper minus lower bound (1 where unbounded);
* ``raw``: 1 for every feature, i.e. the model's own units.

A feature that does not vary over those rows has no typical variation: changing it is never
"cheap". Under ``std`` it gets the smallest unit of any varying feature, so lighting a pixel that
is dark on every known row costs more than moving any live pixel by the same amount (the
schema's range would make it look cheap instead). Every summary names its unit
(:meth:`DistanceUnit.describe`, ``distance_unit`` in ``summary.json`` and ``report.json``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError
from mlsiege.schema import Schema

__all__ = ["SCALES", "DistanceUnit", "distance_unit"]

#: unit names, with the aliases the CLI accepts
SCALES = ("std", "range", "raw")
_ALIASES = {"pool-std": "std", "data-std": "std", "model": "raw", "none": "raw"}


@dataclass(frozen=True)
class DistanceUnit:
    """Per-feature divisor of standardized distances, with what it was measured on."""

    name: str
    scale: np.ndarray
    rows: int | None = None
    source: str | None = None
    constant: tuple[str, ...] = ()

    def describe(self) -> dict[str, Any]:
        """JSON-ready: ``name``, ``text`` (one sentence), ``rows``, ``source``, ``constant_features``."""
        if self.name == "std":
            text = f"per-feature standard deviation over {self.rows} {self.source} rows"
            if self.constant:
                text += (f"; {len(self.constant)} features constant there get the smallest varying unit "
                         f"({float(np.min(self.scale)):.4g}) so changing them is never cheap")
        elif self.name == "range":
            text = "per-feature range of the schema (upper - lower; 1 where unbounded or fixed)"
        elif self.name == "raw":
            text = "the model's own units (no scaling)"
        else:
            text = "per-feature scale given by the caller"
        out: dict[str, Any] = {"name": self.name, "text": text}
        if self.rows is not None:
            out.update(rows=int(self.rows), source=self.source)
        if self.constant:
            out["constant_features"] = list(self.constant[:20]) + (["..."] if len(self.constant) > 20 else [])
        return out


def distance_unit(
    scale: Any, schema: Schema, rows: np.ndarray | None = None, source: str = "known"
) -> DistanceUnit:
    """Resolve ``scale`` (a name of :data:`SCALES`, an array, or ``None`` for ``std``).

    ``rows`` are the rows ``std`` is measured on (their ``source`` is named in the description).
    With fewer than two rows, or none varying, ``std`` is refused with a message.
    """
    d = schema.n_features
    if scale is not None and not isinstance(scale, str):
        s = np.broadcast_to(np.asarray(scale, dtype=float), (d,)).copy()
        if not np.all(np.isfinite(s) & (s > 0)):
            raise ConfigError("a per-feature scale must be finite and > 0 for every feature")
        return DistanceUnit("given", s)
    name = _ALIASES.get(scale or "std", scale or "std")
    if name not in SCALES:
        raise ConfigError(f"--scale must be one of {', '.join(SCALES)} (or {', '.join(_ALIASES)}), got {scale!r}")
    if name == "range":
        return DistanceUnit("range", schema.scale())
    if name == "raw":
        return DistanceUnit("raw", np.ones(d))
    R = None if rows is None else np.atleast_2d(np.asarray(rows, dtype=float))
    if R is None or len(R) < 2:
        raise ConfigError("--scale std needs at least two known rows (a --pool, or several --data rows); "
                          "or choose --scale range / raw")
    with np.errstate(invalid="ignore"):
        std = np.nanstd(R, axis=0)
    varies = np.isfinite(std) & (std > 0)
    if not varies.any():
        raise ConfigError("--scale std: no feature varies over the known rows; choose --scale range or raw")
    s = np.where(varies, std, std[varies].min())
    constant = tuple(n for n, v in zip(schema.names, varies, strict=True) if not v)
    return DistanceUnit("std", s, rows=len(R), source=source, constant=constant)
