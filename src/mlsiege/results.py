"""Immutable results of attacks and defenses, ready for ``report/``.

Every attack returns an :class:`AttackResult` and every defense a :class:`DefenseResult`. They
carry the config (``asdict`` of the component's frozen config dataclass) and the seed, so a
report says exactly what ran and a user can reproduce it. ``artifacts`` hold arrays and tables;
``metrics`` hold the scalar figures a report shows.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError

__all__ = ["STATUSES", "AttackResult", "DefenseResult", "comparable", "to_jsonable"]

STATUSES = ("succeeded", "failed", "partial", "budget_exhausted", "error")


def _freeze(mapping: Mapping[str, Any] | None) -> Mapping[str, Any]:
    return MappingProxyType(dict(mapping or {}))


@dataclass(frozen=True)
class AttackResult:
    """What an attack did and what it cost.

    Attributes
    ----------
    attack
        Recipe name, e.g. ``"hopskipjump_chen2020"``.
    status
        One of :data:`STATUSES`; ``partial`` when some points or steps succeeded.
    artifacts
        Adversarial rows, surrogate models, rule lists, per-point tables...
    queries, calls
        Rows sent to the target and calls made (from :class:`~mlsiege.targets.Budgeted`).
    valid_rate
        Fraction of produced rows that satisfy the schema (1.0 when nothing is produced).
    seconds
        Wall time.
    config
        The recipe's configuration as a plain dict.
    seed
        Seed of the attack's private random generator.
    atlas_techniques
        MITRE ATLAS technique IDs this attack exercises.
    metrics
        Scalar figures (success rate, fidelity, median queries...).
    failure_reason
        Why the attack (or, in aggregate, the first failing point) failed; ``None`` on success.
    """

    attack: str
    status: str
    artifacts: Mapping[str, Any] = field(default_factory=dict)
    queries: int = 0
    calls: int = 0
    valid_rate: float = 1.0
    seconds: float = 0.0
    config: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    atlas_techniques: tuple[str, ...] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    failure_reason: str | None = None

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ConfigError(f"status must be one of {STATUSES}, got {self.status!r}")
        if not (0.0 <= self.valid_rate <= 1.0) and not math.isnan(self.valid_rate):
            raise ConfigError(f"valid_rate must be in [0, 1], got {self.valid_rate}")
        object.__setattr__(self, "artifacts", _freeze(self.artifacts))
        object.__setattr__(self, "config", _freeze(self.config))
        object.__setattr__(self, "metrics", _freeze(self.metrics))
        object.__setattr__(self, "atlas_techniques", tuple(self.atlas_techniques))

    @property
    def succeeded(self) -> bool:
        return self.status in ("succeeded", "partial")

    def with_metrics(self, **metrics: Any) -> AttackResult:
        """A copy with more metrics (results stay immutable)."""
        return replace(self, metrics={**self.metrics, **metrics})

    def to_dict(self, *, artifacts: bool = False) -> dict[str, Any]:
        """JSON-safe dict; ``artifacts`` are left out unless asked (they can be large)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "artifacts"}
        if artifacts:
            out["artifacts"] = self.artifacts
        return to_jsonable(out)


@dataclass(frozen=True)
class DefenseResult:
    """What a defense flagged and what it cost.

    Attributes
    ----------
    defense
        Name, e.g. ``"spectral_signatures_tran2018"``.
    keep_mask
        True for the records (or accounts) kept; ``~keep_mask`` is what was flagged.
    scores
        Suspicion score per record (higher = more suspicious).
    cost
        What the defense cost: ``benign_dropped`` (fraction of benign records flagged when the
        ground truth is known), ``utility_lost``, refits, seconds...
    config, seed, atlas_mitigations, metrics, seconds
        As in :class:`AttackResult`.
    """

    defense: str
    keep_mask: np.ndarray
    scores: np.ndarray
    cost: Mapping[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    config: Mapping[str, Any] = field(default_factory=dict)
    seed: int | None = None
    atlas_mitigations: tuple[str, ...] = ()
    metrics: Mapping[str, Any] = field(default_factory=dict)
    groups: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        keep = np.asarray(self.keep_mask, dtype=bool)
        scores = np.asarray(self.scores, dtype=float)
        if keep.shape != scores.shape:
            raise ConfigError(f"keep_mask {keep.shape} and scores {scores.shape} differ in shape")
        keep.setflags(write=False)
        scores.setflags(write=False)
        object.__setattr__(self, "keep_mask", keep)
        object.__setattr__(self, "scores", scores)
        object.__setattr__(self, "cost", _freeze(self.cost))
        object.__setattr__(self, "config", _freeze(self.config))
        object.__setattr__(self, "metrics", _freeze(self.metrics))
        object.__setattr__(self, "groups", _freeze(self.groups))
        object.__setattr__(self, "atlas_mitigations", tuple(self.atlas_mitigations))

    @property
    def flagged(self) -> np.ndarray:
        return ~self.keep_mask

    def with_cost(self, **cost: Any) -> DefenseResult:
        return replace(self, cost={**self.cost, **cost})

    def to_dict(self, *, arrays: bool = False) -> dict[str, Any]:
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in ("keep_mask", "scores")}
        out["flagged"] = int(self.flagged.sum())
        out["records"] = int(self.keep_mask.size)
        if arrays:
            out["keep_mask"] = self.keep_mask
            out["scores"] = self.scores
        return to_jsonable(out)


def to_jsonable(value: Any) -> Any:
    """Recursively turn numpy scalars/arrays, tuples, mappings and NaN into JSON-safe values."""
    if isinstance(value, Mapping):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return to_jsonable(value.tolist())
    if isinstance(value, np.generic):
        return to_jsonable(value.item())
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if hasattr(value, "to_dict") and callable(value.to_dict) and not isinstance(value, type):
        try:
            return to_jsonable(value.to_dict())
        except TypeError:
            return repr(value)
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


_TIMING_KEYS = {"seconds", "started", "timings", "fit_seconds", "query_seconds"}


def comparable(value: Any) -> Any:
    """A form of a result for equality tests: timings dropped, arrays as lists.

    Used by the conformance check "same seed gives an identical result".
    """
    if isinstance(value, (AttackResult, DefenseResult)):
        d = {f.name: getattr(value, f.name) for f in fields(value)}
        return comparable(d)
    if isinstance(value, Mapping):
        return {str(k): comparable(v) for k, v in value.items() if str(k) not in _TIMING_KEYS}
    if isinstance(value, (list, tuple)):
        return [comparable(v) for v in value]
    if isinstance(value, np.ndarray):
        return comparable(value.tolist())
    if isinstance(value, np.generic):
        return comparable(value.item())
    if isinstance(value, float) and math.isnan(value):
        return "nan"
    if hasattr(value, "to_numpy") and hasattr(value, "columns"):  # a DataFrame
        return {"columns": [str(c) for c in value.columns], "values": comparable(value.to_numpy().tolist())}
    if hasattr(value, "to_numpy") and hasattr(value, "index"):  # a Series (a Schema has .index too)
        return comparable(value.to_numpy().tolist())
    if hasattr(value, "__dict__") and not isinstance(value, type):
        # fitted models and the like: compare their public learned state
        return {k: comparable(v) for k, v in sorted(vars(value).items()) if not k.startswith("__")}
    if not isinstance(value, (type, str, bytes, int, float, bool)) and value is not None:
        # extension objects without __dict__ (scikit-learn's Cython Tree) compare by their state
        try:
            state = value.__getstate__()
        except (AttributeError, TypeError):
            return value
        if isinstance(state, Mapping):
            return comparable(state)
    return value
