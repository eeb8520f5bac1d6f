"""Constrained evolutionary search in the manner of MOEVA (Simonetto et al. 2022).

"A Unified Framework for Adversarial Attack and Defense in Constrained Feature Space" (IJCAI
2022) evolves a population under three objectives: the target's score for the original class,
the distance to the original, and the total constraint violation. Here every offspring is
projected onto the schema before it is sent, so the violation objective is zero for every row
queried; survival orders rows by (not adversarial, margin) then distance, the constrained-
domination order reduced to the two objectives left. Variation is mixed-type: uniform crossover,
Gaussian mutation of real and integer features (rounded by the projection), random level
resets of categoricals, a shrink operator that pulls adversarial parents toward the original,
and a give-back operator that resets features to their original value. The population is
seeded with adversarial pool rows bisected toward the original.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from mlsiege.attacks.evasion.boundary import bisect
from mlsiege.attacks.evasion.oracle import PointOracle
from mlsiege.attacks.evasion.starts import Pool, pool_starts
from mlsiege.errors import ConfigError

__all__ = ["MoevaConfig", "moeva_search"]


@dataclass(frozen=True)
class MoevaConfig:
    """Population size, generations, Gaussian mutation scale (standardized), categorical reset
    probability, crossover rate, how many adversarial pool rows seed the population (each
    bisected toward the original first), and the per-feature rate of the give-back operator
    (reset to the original value, which keeps perturbations sparse)."""

    pop_size: int = 8
    generations: int = 200
    mutation: float = 0.3
    reset_rate: float = 0.1
    crossover: float = 0.5
    pool_seeds: int = 2
    give_back: float = 0.3

    def __post_init__(self) -> None:
        if self.pop_size < 2 or self.generations < 1 or self.pool_seeds < 0:
            raise ConfigError("MoevaConfig needs pop_size >= 2, generations >= 1, pool_seeds >= 0")
        if not (self.mutation > 0 and all(0 <= r <= 1 for r in (self.reset_rate, self.crossover, self.give_back))):
            raise ConfigError("MoevaConfig needs mutation > 0 and rates in [0, 1]")


def _keys(oracle: PointOracle, rows: np.ndarray, adv: np.ndarray, margin: np.ndarray) -> np.ndarray:
    # adversarial rows by distance, the rest after them by margin
    return np.where(adv, oracle.dist(rows), 1e6 + np.clip(margin, -1e6, 1e6))


def _vary(oracle: PointOracle, parents: np.ndarray, adv: np.ndarray, rng: np.random.Generator, c: MoevaConfig) -> np.ndarray:
    n, d = parents.shape
    mates = parents[rng.permutation(n)]
    take = rng.random((n, d)) < c.crossover
    kids = np.where(take, mates, parents)
    kids = kids + rng.standard_normal((n, d)) * c.mutation * oracle.scale * (rng.random((n, d)) < 0.3)
    for j, f in enumerate(oracle.schema.features):
        if f.type == "categorical" and oracle.mutable[j]:
            reset = rng.random(n) < c.reset_rate
            kids[reset, j] = rng.integers(0, len(f.levels or (1,)), reset.sum())
    pull = adv & (rng.random(n) < 0.5)
    kids[pull] = oracle.x0 + rng.uniform(0.5, 0.95, (pull.sum(), 1)) * (kids[pull] - oracle.x0)
    give_back = rng.random((n, d)) < c.give_back
    kids = np.where(give_back, oracle.x0, kids)
    return np.where(oracle.mutable, kids, oracle.x0)


def moeva_search(oracle: PointOracle, pool: Pool, rng: np.random.Generator, config: MoevaConfig) -> None:
    """Evolve until the budget or the generations run out; the oracle keeps the best row."""
    seeds = pool_starts(oracle, pool, want=config.pool_seeds) if config.pool_seeds else []
    seeds = [bisect(oracle, s, 0.05, 8) for s in seeds]
    n_rand = config.pop_size - len(seeds)
    noise = rng.standard_normal((n_rand, len(oracle.x0))) * config.mutation * oracle.scale
    rows, adv, margin = oracle.query(np.where(oracle.mutable, oracle.x0 + noise, oracle.x0))
    if seeds:
        rows = np.vstack([rows, np.array(seeds)])
        adv = np.concatenate([adv, np.ones(len(seeds), dtype=bool)])
        margin = np.concatenate([margin, np.full(len(seeds), -1.0)])
    for _ in range(config.generations):
        keys = _keys(oracle, rows, adv, margin)
        a, b = rng.integers(0, len(rows), (2, len(rows)))
        win = np.where(keys[a] <= keys[b], a, b)
        kids, kadv, kmargin = oracle.query(_vary(oracle, rows[win], adv[win], rng, config))
        allr = np.vstack([rows, kids])
        alla, allm = np.concatenate([adv, kadv]), np.concatenate([margin, kmargin])
        keep = np.argsort(_keys(oracle, allr, alla, allm), kind="stable")[: config.pop_size]
        rows, adv, margin = allr[keep], alla[keep], allm[keep]
