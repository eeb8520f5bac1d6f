"""Boundary walk (Brendel, Rauber and Bethge 2018, "Decision-Based Adversarial Attacks").

From an adversarial start on the boundary, propose random moves that keep the distance to the
original (an orthogonal step on the sphere) and then shrink it (a step toward the original);
keep the closest adversarial proposal; adapt both step sizes to the share of proposals that
stay adversarial. Proposals are projected onto the schema; a batch of them goes per query call.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.boundary import bisect, shrink
from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool, find_start
from mlsiege.errors import ConfigError

__all__ = ["WalkConfig", "walk_search"]


@dataclass(frozen=True)
class WalkConfig:
    """Settings of :func:`walk_search`: proposals per round, initial orthogonal and source steps
    (fractions of the current distance), rounds, and the final shrink pass."""

    batch: int = 4
    orth_step: float = 0.3
    source_step: float = 0.05
    max_rounds: int = 500
    bisect_tol: float = 0.004
    bisect_steps: int = 14
    sparsify: bool = True
    start_tries: int = 12

    def __post_init__(self) -> None:
        for name in ("batch", "max_rounds", "bisect_steps", "start_tries"):
            if int(getattr(self, name)) < 1:
                raise ConfigError(f"WalkConfig.{name} must be >= 1, got {getattr(self, name)!r}")
        if not (0 < self.orth_step and 0 < self.source_step < 1):
            raise ConfigError("WalkConfig needs orth_step > 0 and 0 < source_step < 1")


def walk_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: WalkConfig) -> None:
    """Run the walk; the oracle keeps the best adversarial row found."""
    starts = find_start(oracle, pool, rng, tries=config.start_tries)
    if not starts:
        return
    bisect(oracle, starts[0], config.bisect_tol, config.bisect_steps)
    orth, src = config.orth_step, config.source_step
    x0, scale, free = oracle.x0, oracle.scale, oracle.mutable
    for _ in range(config.max_rounds):
        xb = oracle.best
        z = (xb - x0) / scale
        d = float(np.linalg.norm(z))
        reserve = int((np.abs(z) > 1e-12).sum()) if config.sparsify else 0
        if d <= 1e-9 or oracle.remaining - config.batch < reserve:
            break
        eta = rng.standard_normal((config.batch, len(z))) * free
        eta -= np.outer(eta @ z / (d * d), z)
        eta *= orth * d / np.maximum(np.linalg.norm(eta, axis=1, keepdims=True), 1e-12)
        cand = z + eta
        cand *= (d / np.linalg.norm(cand, axis=1, keepdims=True)) * (1.0 - src)
        _, adv, _ = oracle.query(x0 + cand * scale)
        rate = adv.mean()
        if rate >= 0.5:
            orth, src = min(orth * 1.3, 1.0), min(src * 1.3, 0.5)
        elif rate == 0:
            orth, src = max(orth * 0.75, 1e-3), max(src * 0.75, 1e-4)
    if config.sparsify and oracle.best is not None:
        bisect(oracle, shrink(oracle, oracle.best), config.bisect_tol, config.bisect_steps)
