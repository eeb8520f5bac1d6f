"""Sparse greedy coordinate search on the target's score.

Each round tries one step up and one down on every mutable feature (every other level of a
categorical) and keeps the move that lowers the margin most, so the perturbation grows one
feature at a time and stays sparse, as in the local-search attacks of Narodytska and
Kasiviswanathan 2017 ("Simple Black-Box Adversarial Perturbations for Deep Networks") and the
greedy sparse attacks that followed (Croce and Hein 2019). Once adversarial, features are given
back while the row stays adversarial.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.boundary import shrink
from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool
from mlsiege.errors import ConfigError

__all__ = ["GreedyConfig", "greedy_search"]


@dataclass(frozen=True)
class GreedyConfig:
    """Standardized step per move, rounds (features changed at most), final shrink pass."""

    step: float = 0.5
    rounds: int = 10
    sparsify: bool = True

    def __post_init__(self) -> None:
        if self.step <= 0 or self.rounds < 1:
            raise ConfigError(f"GreedyConfig needs step > 0 and rounds >= 1, got {self.step!r}, {self.rounds!r}")


def _neighbours(oracle: PointOracle, cur: np.ndarray, step: float) -> np.ndarray:
    out = []
    for j in np.flatnonzero(oracle.mutable):
        f = oracle.schema.features[j]
        if f.type == "categorical":
            values = [float(k) for k in range(len(f.levels or ())) if k != cur[j]]
        else:
            values = [cur[j] + s * max(step * oracle.scale[j], 1.0 if f.is_discrete else 0.0) for s in (1.0, -1.0)]
        for v in values:
            row = cur.copy()
            row[j] = v
            out.append(row)
    return np.array(out).reshape(-1, len(cur))


def greedy_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: GreedyConfig) -> None:
    """Greedy rounds until adversarial; then the shrink pass."""
    cur = oracle.x0.copy()
    _, _, best_margin = oracle.query(cur)
    for _ in range(config.rounds):
        rows, adv, margin = oracle.query(_neighbours(oracle, cur, config.step))
        if adv.any():
            break
        k = int(np.argmin(margin))
        if not margin[k] < best_margin[0]:
            return
        cur, best_margin = rows[k], margin[k : k + 1]
    if config.sparsify and oracle.best is not None:
        shrink(oracle, oracle.best)
