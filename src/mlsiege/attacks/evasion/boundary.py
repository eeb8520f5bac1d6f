"""Moves along the decision boundary shared by the decision-based searches.

* :func:`bisect` - binary search on the segment from the original to an adversarial row, the
  step every decision-based attack uses to land on the boundary (Chen et al. 2020, Alg. 1);
* :func:`shrink` - coordinate-wise reduction of the perturbation: give features back their
  original value (fully, then half-way) while the row stays adversarial. On tree ensembles, whose
  boundaries are axis-aligned, it removes most of a pool start's displacement for a query per
  feature and makes the perturbation sparse (the "feature reduction" step of sparse decision
  attacks, e.g. Vo et al. 2022).

Every candidate is projected onto the schema by the oracle before it is sent.
"""

from __future__ import annotations

import numpy as np

from mlsiege.attacks.evasion.oracle import PointOracle

__all__ = ["bisect", "shrink"]


def bisect(oracle: PointOracle, x_adv: np.ndarray, tol: float = 0.02, max_steps: int = 12) -> np.ndarray:
    """Adversarial row on the segment original -> ``x_adv`` within ``tol`` of the boundary.

    ``tol`` is in standardized L2 units; at most ``max_steps`` queries.
    """
    x0 = oracle.x0
    total = float(oracle.dist(x_adv)[0])
    lo, hi, best = 0.0, 1.0, np.asarray(x_adv, dtype=float)
    for _ in range(max_steps):
        if (hi - lo) * total <= tol:
            break
        mid = 0.5 * (lo + hi)
        rows, adv, _ = oracle.query(x0 + mid * (x_adv - x0))
        if adv[0]:
            hi, best = mid, rows[0]
        else:
            lo = mid
    return best


def shrink(oracle: PointOracle, x_adv: np.ndarray, fractions: tuple[float, ...] = (1.0, 0.5)) -> np.ndarray:
    """Give features back (the share ``fractions`` of their change) while still adversarial.

    Features are tried from the largest standardized change down; one query each.
    """
    x0, cur = oracle.x0, np.asarray(x_adv, dtype=float)
    for frac in fractions:
        change = np.abs(cur - x0) / oracle.scale
        order = [j for j in np.argsort(-change, kind="stable") if change[j] > 1e-9 and oracle.mutable[j]]
        for j in order:
            cand = cur.copy()
            cand[j] = cur[j] - frac * (cur[j] - x0[j])
            rows, adv, _ = oracle.query(cand)
            if adv[0] and oracle.dist(rows)[0] < oracle.dist(cur)[0]:
                cur = rows[0]
    return cur
