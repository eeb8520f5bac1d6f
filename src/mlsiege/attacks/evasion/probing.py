"""The operator's heuristics: change one feature at a time.

A bot operator facing a sign-up form does not run HopSkipJump: they raise the form-fill time
until the account is accepted, or try each field in turn. :func:`probe_search` tries every
mutable feature at growing distances (categoricals: every other level) nearest first, in the
manner of single-feature attacks (Su, Vargas and Sakurai 2019, "One Pixel Attack");
:func:`threshold_search` pushes the named features in their allowed direction by doubling
steps until the label flips. Both then bisect on the one feature to find the smallest change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool
from mlsiege.errors import ConfigError

__all__ = ["ProbeConfig", "ThresholdConfig", "probe_search", "threshold_search"]


@dataclass(frozen=True)
class ProbeConfig:
    """Standardized step sizes tried per feature and direction, probes per query call,
    bisection steps on the winning feature."""

    steps: tuple[float, ...] = (0.25, 0.5, 1.0, 2.0, 4.0)
    batch: int = 8
    bisect_steps: int = 8

    def __post_init__(self) -> None:
        if not self.steps or any(s <= 0 for s in self.steps):
            raise ConfigError(f"ProbeConfig.steps must be positive, got {self.steps!r}")
        if self.batch < 1 or self.bisect_steps < 0:
            raise ConfigError("ProbeConfig needs batch >= 1 and bisect_steps >= 0")


@dataclass(frozen=True)
class ThresholdConfig:
    """Features to push (``None``: every mutable one in schema order), first standardized step,
    doublings, bisection steps."""

    features: tuple[str, ...] | None = None
    first_step: float = 0.25
    doublings: int = 6
    bisect_steps: int = 8

    def __post_init__(self) -> None:
        if self.first_step <= 0 or self.doublings < 1 or self.bisect_steps < 0:
            raise ConfigError("ThresholdConfig needs first_step > 0, doublings >= 1, bisect_steps >= 0")


def _single_bisect(oracle: PointOracle, j: int, value: float, steps: int) -> None:
    x0 = oracle.x0
    lo, hi = x0[j], value
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        cand = x0.copy()
        cand[j] = mid
        _, adv, _ = oracle.query(cand)
        lo, hi = (lo, mid) if adv[0] else (mid, hi)


def _moves(oracle: PointOracle, j: int, sign: float, steps: tuple[float, ...]) -> list[tuple[float, int, float]]:
    f = oracle.schema.features[j]
    x0 = oracle.x0
    if f.type == "categorical":
        return [(1.0, j, float(k)) for k in range(len(f.levels or ())) if k != x0[j]] if sign > 0 else []
    if f.type == "binary":
        return [(1.0 / oracle.scale[j], j, 1.0 - x0[j])] if sign > 0 else []
    out = []
    for s in steps:
        v = float(np.clip(x0[j] + sign * s * oracle.scale[j], oracle.schema.low[j], oracle.schema.high[j]))
        if v != x0[j]:
            out.append((abs(v - x0[j]) / oracle.scale[j], j, v))
    return out


def probe_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: ProbeConfig) -> None:
    """One-feature probing, nearest moves first; bisect the first feature that flips."""
    moves = []
    for j in np.flatnonzero(oracle.mutable):
        moves += _moves(oracle, int(j), 1.0, config.steps) + _moves(oracle, int(j), -1.0, config.steps)
    moves.sort(key=lambda m: (m[0], m[1]))
    for k in range(0, len(moves), config.batch):
        chunk = moves[k : k + config.batch]
        rows = np.repeat(oracle.x0[None, :], len(chunk), axis=0)
        for r, (_, j, v) in enumerate(chunk):
            rows[r, j] = v
        _, adv, _ = oracle.query(rows)
        if adv.any():
            _, j, v = chunk[int(np.flatnonzero(adv)[0])]
            if not oracle.schema.features[j].type == "categorical":
                _single_bisect(oracle, j, v, config.bisect_steps)
            return


def threshold_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: ThresholdConfig) -> None:
    """Push each feature in its allowed direction by doubling steps; bisect the first flip."""
    schema, x0 = oracle.schema, oracle.x0
    names = config.features if config.features is not None else [schema.names[j] for j in np.flatnonzero(oracle.mutable)]
    for name in names:
        j = schema.index(name)
        f = schema.features[j]
        signs = {"increase": (1.0,), "decrease": (-1.0,)}.get(f.direction, (1.0, -1.0))
        for sign in signs:
            step = config.first_step
            for _ in range(config.doublings):
                v = float(np.clip(x0[j] + sign * step * oracle.scale[j], schema.low[j], schema.high[j]))
                cand = x0.copy()
                cand[j] = v
                _, adv, _ = oracle.query(cand)
                if adv[0]:
                    _single_bisect(oracle, j, v, config.bisect_steps)
                    return
                if v in (schema.low[j], schema.high[j]):
                    break
                step *= 2
