"""Score-based evasion recipes: they read probabilities (or anomaly scores) when the target
reveals them, and fall back to labels (a flat objective) when it does not.

Options as in :mod:`mlsiege.attacks.evasion.recipes_decision`: ``y``, ``target_label``,
``threshold``, ``scale``, ``config``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.attacks.evasion.evolution import MoevaConfig, moeva_search
from mlsiege.attacks.evasion.greedy import GreedyConfig, greedy_search
from mlsiege.attacks.evasion.runner import run_evasion
from mlsiege.results import AttackResult
from mlsiege.schema import Schema

__all__ = ["moeva_simonetto2022", "sparse_greedy_search"]


def moeva_simonetto2022(
    target: Any, X: np.ndarray, *, schema: Schema, pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None, budget: int | None = 250, seed: int = 0,
    config: MoevaConfig | None = None, **options: Any,
) -> AttackResult:
    """Constrained evolutionary search on score, distance and constraint violation.

    Simonetto, Dyrmishi, Ghamizi, Cordy and Le Traon, "A Unified Framework for Adversarial Attack
    and Defense in Constrained Feature Space", IJCAI 2022 (MOEVA). Every offspring is projected
    onto ``schema``; see :func:`~mlsiege.attacks.evasion.evolution.moeva_search`.
    """
    return run_evasion(
        "moeva_simonetto2022", moeva_search, config or MoevaConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, **options,
    )


def sparse_greedy_search(
    target: Any, X: np.ndarray, *, schema: Schema, pool_X: np.ndarray | None = None,
    pool_y: np.ndarray | None = None, budget: int | None = 250, seed: int = 0,
    config: GreedyConfig | None = None, **options: Any,
) -> AttackResult:
    """Greedy coordinate search that changes as few features as possible.

    Local search of Narodytska and Kasiviswanathan 2017 restricted to one feature per round,
    with a final give-back pass; see :func:`~mlsiege.attacks.evasion.greedy.greedy_search`.
    """
    return run_evasion(
        "sparse_greedy_search", greedy_search, config or GreedyConfig(), target, X, schema=schema,
        pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, **options,
    )
