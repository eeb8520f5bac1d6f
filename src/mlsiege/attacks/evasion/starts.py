"""Starting points of decision-based searches: data first, then the feasible set.

A label-only search needs one row on the other side of the boundary before it can walk toward
the original. Random starts waste queries and often fail on tabular data (ART's HopSkipJump
silently returns the input when its random start finds nothing); the attacker's own pool of
known rows is a far better source: the nearest pool row of another class (labels from
``pool_y`` when known, else bought with queries), projected around the original, is usually
adversarial at once (Brendel et al. 2018 start from such a row; Chen et al. 2020 from noise).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.oracle import PointOracle

__all__ = ["Pool", "find_start", "pool_starts", "random_start"]


@dataclass(frozen=True)
class Pool:
    """The attacker's known rows and, if known, their labels."""

    X: np.ndarray | None = None
    y: np.ndarray | None = None

    @property
    def empty(self) -> bool:
        return self.X is None or len(self.X) == 0


def pool_starts(oracle: PointOracle, pool: Pool, want: int = 1, tries: int = 12, batch: int = 4) -> list[np.ndarray]:
    """Up to ``want`` adversarial rows among the ``tries`` nearest pool rows, nearest first.

    Pool rows of another class (when ``pool.y`` is known) are projected around the original and
    checked with a query each, ``batch`` at a time.
    """
    if pool.empty:
        return []
    X = np.asarray(pool.X, dtype=float)
    if pool.y is not None:
        y = np.asarray(pool.y)
        keep = (y == oracle.target_label) if oracle.target_label is not None else (y != oracle.label)
        X = X[keep]
    if len(X) == 0:
        return []
    cand = oracle.project(X)
    order = np.argsort(oracle.dist(cand), kind="stable")[:tries]
    found: list[np.ndarray] = []
    for k in range(0, len(order), batch):
        step = max(1, min(batch, want - len(found)))
        rows, adv, _ = oracle.query(cand[order[k : k + step]], projected=True)
        found.extend(rows[adv])
        if len(found) >= want:
            break
    return found


def random_start(
    oracle: PointOracle, pool: Pool, rng: np.random.Generator, tries: int = 40, batch: int = 10
) -> np.ndarray | None:
    """Random feasible rows, growing away from the original, until one is adversarial.

    Mutable features are drawn within the schema's bounds where finite, else around the
    original with the standardized unit; rows are projected before they are sent.
    """
    schema, x0 = oracle.schema, oracle.x0
    lo, hi = schema.low.copy(), schema.high.copy()
    if not pool.empty:
        P = np.asarray(pool.X, dtype=float)
        lo = np.where(np.isfinite(lo), lo, np.nanmin(P, axis=0))
        hi = np.where(np.isfinite(hi), hi, np.nanmax(P, axis=0))
    lo = np.where(np.isfinite(lo), lo, x0 - 4 * oracle.scale)
    hi = np.where(np.isfinite(hi), hi, x0 + 4 * oracle.scale)
    free = oracle.mutable
    for k in range(0, tries, batch):
        n = min(batch, tries - k)
        mix = min(1.0, (k + n) / tries + 0.25)
        draw = rng.uniform(lo, hi, size=(n, len(x0)))
        rows = np.where(free, x0 + mix * (draw - x0), x0)
        rows, adv, _ = oracle.query(rows)
        if adv.any():
            hit = rows[adv]
            return hit[int(np.argmin(oracle.dist(hit)))]
    return None


def find_start(
    oracle: PointOracle, pool: Pool, rng: np.random.Generator, want: int = 1, tries: int = 12
) -> list[np.ndarray]:
    """Up to ``want`` starts from the pool, else one from random feasible rows (maybe none)."""
    found = pool_starts(oracle, pool, want=want, tries=tries)
    if found:
        return found
    start = random_start(oracle, pool, rng)
    return [] if start is None else [start]
