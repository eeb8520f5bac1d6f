"""HopSkipJump search (Chen, Jordan and Wainwright 2020), constrained and budget-aware.

From a boundary point the search estimates the boundary's normal from the signs of a few
queries around it (Monte-Carlo, with a baseline), takes a geometric step along it, and bisects
back toward the original. Departures from the paper, for tabular targets with small budgets:
the start is data-driven (:mod:`~mlsiege.attacks.evasion.starts`), every probe is projected
onto the schema (the realised displacement, not the drawn one, enters the estimate), probes
are as wide as the current distance, only mutable features move, the iterate restarts from
the best row found, and a coordinate-wise
:func:`~mlsiege.attacks.evasion.boundary.shrink` pass runs at the end (optionally after the start too).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.boundary import bisect, shrink
from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool, find_start
from mlsiege.errors import ConfigError

__all__ = ["HSJConfig", "estimate_direction", "hsj_search"]


@dataclass(frozen=True)
class HSJConfig:
    """Settings of :func:`hsj_search`.

    ``init_eval`` probes at the first iteration, growing as ``sqrt(t)`` up to ``max_eval``;
    ``radius`` is the probe radius as a share of the current distance (the paper's is about
    ``1/d``; probes as wide as the distance see past the steps of a tree ensemble's boundary);
    ``bisect_tol`` in standardized L2 units, at most ``bisect_steps`` queries per bisection;
    ``step_tries`` halvings of the geometric step; ``sparsify`` keeps enough queries for a final
    shrink pass. ``start_tries`` pool rows are tried as starts, of which ``n_starts``
    adversarial ones are bisected and, with ``shrink_start``, the ``n_refine`` closest shrunk;
    ``subspace`` (with ``shrink_start``) then probes only the features still changed.
    """

    max_iter: int = 40
    init_eval: int = 16
    max_eval: int = 48
    bisect_tol: float = 0.004
    bisect_steps: int = 14
    step_tries: int = 5
    sparsify: bool = True
    shrink_start: bool = False
    subspace: bool = False
    start_tries: int = 12
    n_starts: int = 1
    n_refine: int = 1
    radius: float = 1.0

    def __post_init__(self) -> None:
        for name in ("max_iter", "init_eval", "max_eval", "bisect_steps", "step_tries", "start_tries", "n_starts", "n_refine"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"HSJConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if self.max_eval < self.init_eval:
            raise ConfigError(f"HSJConfig.max_eval ({self.max_eval}) must be >= init_eval ({self.init_eval})")
        if not self.bisect_tol > 0:
            raise ConfigError(f"HSJConfig.bisect_tol must be > 0, got {self.bisect_tol!r}")


def estimate_direction(
    oracle: PointOracle, xb: np.ndarray, delta: float, n: int, rng: np.random.Generator,
    free: np.ndarray | None = None,
) -> np.ndarray | None:
    """Unit direction (standardized units) toward the adversarial side at boundary point ``xb``.

    Probes move only the ``free`` features (default: the mutable ones).
    """
    free = oracle.mutable if free is None else free
    u = rng.standard_normal((n, len(xb))) * free
    u /= np.maximum(np.linalg.norm(u, axis=1, keepdims=True), 1e-12)
    rows, adv, _ = oracle.query(xb + delta * u * oracle.scale)
    moved = (rows - xb) / oracle.scale
    norm = np.linalg.norm(moved, axis=1, keepdims=True)
    keep = norm[:, 0] > 1e-12
    if not keep.any():
        return None
    moved = moved[keep] / norm[keep]
    phi = np.where(adv[keep], 1.0, -1.0)
    if abs(phi.mean()) < 1.0:
        phi = phi - phi.mean()
    g = (phi[:, None] * moved).mean(axis=0)
    size = np.linalg.norm(g)
    return None if size < 1e-12 else g / size


def hsj_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: HSJConfig) -> None:
    """Run the search; the oracle keeps the best adversarial row found."""
    starts = find_start(oracle, pool, rng, want=config.n_starts, tries=config.start_tries)
    if not starts:
        return
    edges = [bisect(oracle, s, 4 * config.bisect_tol, config.bisect_steps) for s in starts]
    edges.sort(key=lambda e: float(oracle.dist(e)[0]))
    if config.shrink_start:
        for e in edges[: config.n_refine]:
            bisect(oracle, shrink(oracle, e), config.bisect_tol, config.bisect_steps)
    xb = oracle.best if oracle.best is not None else edges[0]
    free = oracle.mutable.copy()
    if config.subspace and config.shrink_start:
        free &= np.abs(xb - oracle.x0) > 1e-12
    for t in range(1, config.max_iter + 1):
        xb = oracle.best if oracle.best is not None else xb
        d = float(oracle.dist(xb)[0])
        reserve = int((np.abs(xb - oracle.x0) > 1e-12).sum()) if config.sparsify else 0
        if d <= 1e-9 or oracle.remaining <= reserve:
            break
        n = int(min(config.max_eval, config.init_eval * np.sqrt(t), max(2, oracle.remaining - reserve - 2)))
        v = estimate_direction(oracle, xb, max(config.radius * d, 1e-3), n, rng, free)
        if v is None:
            continue
        eps = d / np.sqrt(t)
        for _ in range(config.step_tries):
            rows, adv, _ = oracle.query(xb + eps * v * oracle.scale)
            if adv[0]:
                bisect(oracle, rows[0], config.bisect_tol, config.bisect_steps)
                break
            eps /= 2
    if config.sparsify and oracle.best is not None:
        bisect(oracle, shrink(oracle, oracle.best), config.bisect_tol, config.bisect_steps)
