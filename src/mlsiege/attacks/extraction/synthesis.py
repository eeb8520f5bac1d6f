"""Query synthesis inside the schema's feasible set (the attacker knows the schema, not the data).

Generators return *candidates*: rows repaired to the schema's bounds, types and derived
features (cheap, vectorised). Relations are solved only for the rows actually sent:
:func:`feasible` projects them (:meth:`~mlsiege.schema.Schema.project`) and drops whatever
projection could not save, so no row an extraction sends ever violates the schema.

Three shapes of candidates, because uniform draws in a wide feature box mostly land far from
where real rows live (ART's box-random Copycat ends with a constant thief):

* :func:`box_samples` – uniform in the box (categoricals: uniform levels);
* :func:`diagonal_samples` – Gaussian clouds at several scales along the box's main diagonal
  ``low + t (high - low)``: size-like features that move together (most tabular data) put the
  real rows near that diagonal, often near its low end;
* :func:`local_samples` – Gaussian clouds around given centres (boundary points, pool rows).

:func:`bisect_boundary` buys points on the target's decision boundary by bisection between two
rows it labels differently (the "line search" of Tramèr et al. 2016 and Papernot et al. 2017).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.schema import Schema

__all__ = ["Box", "bisect_boundary", "box_samples", "diagonal_samples", "feasible", "local_samples"]


@dataclass(frozen=True)
class Box:
    """Finite per-feature bounds: the schema's, or the reference rows' range where unbounded."""

    low: np.ndarray
    high: np.ndarray

    @classmethod
    def of(cls, schema: Schema, reference: np.ndarray | None = None) -> Box:
        lo, hi = schema.low.astype(float).copy(), schema.high.astype(float).copy()
        ref_lo = ref_hi = None
        if reference is not None and len(reference):
            ref_lo, ref_hi = np.nanmin(reference, axis=0), np.nanmax(reference, axis=0)
        for j in range(len(lo)):
            if not np.isfinite(lo[j]):
                lo[j] = ref_lo[j] if ref_lo is not None else (hi[j] - 1.0 if np.isfinite(hi[j]) else -1.0)
            if not np.isfinite(hi[j]):
                hi[j] = ref_hi[j] if ref_hi is not None else lo[j] + 1.0
        return cls(lo, np.maximum(hi, lo))

    @property
    def span(self) -> np.ndarray:
        s = self.high - self.low
        return np.where(s > 0, s, 1.0)


def feasible(schema: Schema, X: np.ndarray) -> np.ndarray:
    """``X`` projected onto the schema; rows projection cannot make valid are dropped."""
    X = np.atleast_2d(np.asarray(X, dtype=float))
    if len(X) == 0:
        return X.reshape(0, schema.n_features)
    P = schema.project(X)
    return P[schema.valid_mask(P)]


def _levels(schema: Schema, X: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    for j, f in enumerate(schema.features):
        if f.type == "categorical":
            X[:, j] = rng.integers(0, len(f.levels or ()), len(X))
    return X


def box_samples(schema: Schema, box: Box, n: int, rng: np.random.Generator) -> np.ndarray:
    """``n`` uniform draws in the box (repaired candidates)."""
    X = box.low + rng.uniform(0.0, 1.0, (n, len(box.low))) * (box.high - box.low)
    return schema.repair(_levels(schema, X, rng))


def diagonal_samples(
    schema: Schema, box: Box, n: int, rng: np.random.Generator, scales: tuple[float, ...] = (0.02, 0.05, 0.1)
) -> np.ndarray:
    """``n`` draws ``low + t span + N(0, s span)``, ``t ~ U(0, 1)``, ``s`` among ``scales``."""
    d = len(box.low)
    t = rng.uniform(0.0, 1.0, (n, 1))
    s = rng.choice(np.asarray(scales, dtype=float), (n, 1))
    X = np.clip(box.low + t * box.span + rng.normal(0.0, 1.0, (n, d)) * s * box.span, box.low, box.high)
    return schema.repair(_levels(schema, X, rng))


def local_samples(
    schema: Schema,
    box: Box,
    centers: np.ndarray,
    n: int,
    rng: np.random.Generator,
    scales: tuple[float, ...] = (0.02, 0.05, 0.1, 0.2),
) -> np.ndarray:
    """``n`` Gaussian draws around randomly chosen ``centers`` at several scales (repaired candidates)."""
    centers = np.atleast_2d(np.asarray(centers, dtype=float))
    d = centers.shape[1]
    pick = centers[rng.integers(0, len(centers), n)]
    s = rng.choice(np.asarray(scales, dtype=float), (n, 1))
    X = np.clip(pick + rng.normal(0.0, 1.0, (n, d)) * s * box.span, box.low, box.high)
    return schema.repair(X)


def bisect_boundary(
    oracle, schema: Schema, a: np.ndarray, label_a: object, b: np.ndarray, steps: int
) -> np.ndarray | None:
    """Bisect between rows ``a`` (labelled ``label_a``) and ``b`` (labelled otherwise), ``steps`` queries.

    Returns the midpoint of the last bracketing pair (a point on the boundary to within
    ``2**-steps`` of the segment), or ``None`` when the budget ran out before a single answer.
    The bought rows and labels stay in ``oracle``.
    """
    for _ in range(steps):
        mid = feasible(schema, ((a + b) / 2.0)[None, :])
        if len(mid) == 0 or np.allclose(mid[0], a) or np.allclose(mid[0], b):
            break
        answer = oracle.ask(mid)
        if len(answer) == 0:
            return None
        if answer[0] == label_a:
            a = mid[0]
        else:
            b = mid[0]
    return (a + b) / 2.0
