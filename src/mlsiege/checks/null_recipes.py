"""One do-nothing recipe per family: well-formed results, no effect. The checks must reject each.

They follow their family's calling convention, cite a source and return the right result type
with the right artifacts, so checks of shape alone pass them. Each does nothing useful:

* ``null_evasion`` reads probabilities and gives up on every point (NaN rows);
* ``null_extraction`` asks one label and returns a surrogate that always says it;
* ``null_poisoning`` returns the training set unchanged;
* ``null_data_defense`` keeps every record;
* ``null_reco_attack`` creates sybils that engage nothing;
* ``null_reco_defense`` flags no account and scores everyone alike.

``python -m mlsiege.checks mlsiege.checks.null_recipes`` must exit non-zero
(``tests/test_conformance.py`` asserts each is rejected).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.results import AttackResult, DefenseResult

__all__ = [
    "null_data_defense",
    "null_evasion",
    "null_extraction",
    "null_poisoning",
    "null_reco_attack",
    "null_reco_defense",
]


def null_evasion(target: Any, X: Any, *, schema: Any, pool_X: Any = None, pool_y: Any = None, budget: int, seed: int = 0) -> AttackResult:
    """Asks for probabilities, then gives up on every point (no source; checks reference, 2024)."""
    X = np.asarray(X, dtype=float)
    target.predict_proba(X[:1])
    return AttackResult("null_evasion", "failed", artifacts={"adversarial": np.full(X.shape, np.nan),
                                                             "success": np.zeros(len(X), bool)},
                        queries=target.queries_used, seed=seed, failure_reason="did nothing")


class _Constant:
    """A surrogate that answers one label for every row."""

    def __init__(self, label: Any) -> None:
        self.label = label

    def predict(self, X: Any) -> np.ndarray:
        return np.full(len(X), self.label)


def null_extraction(target: Any, *, schema: Any, pool_X: Any = None, budget: int, seed: int = 0) -> AttackResult:
    """Asks one label and returns a surrogate that always answers it (no source; checks reference, 2024)."""
    rows = np.asarray(pool_X, dtype=float)[:1] if pool_X is not None else np.zeros((1, schema.n_features))
    label = np.asarray(target.predict(rows))[0]
    return AttackResult("null_extraction", "succeeded", artifacts={"surrogate": _Constant(label), "queried": rows},
                        queries=target.queries_used, seed=seed)


def null_poisoning(X: Any, y: Any, *, schema: Any, seed: int = 0) -> AttackResult:
    """Returns the training set unchanged (no source; checks reference, 2024)."""
    X, y = np.array(X, dtype=float), np.array(y)
    return AttackResult("null_poisoning", "failed", artifacts={"X_poisoned": X, "y_poisoned": y,
                                                               "is_poison": np.zeros(len(y), bool)},
                        seed=seed, failure_reason="did nothing")


def null_data_defense(X: Any, y: Any, meta: Any, *, seed: int = 0) -> DefenseResult:
    """Keeps every record (no source; checks reference, 2024)."""
    return DefenseResult("null_data_defense", np.ones(len(y), bool), np.zeros(len(y)), seed=seed)


def null_reco_attack(interactions: Any, *, targets: Any, n_sybils: int, engagements_per_sybil: int = 30,
                     audience: Any = None, follows: Any = None, recommender: Any = None, seed: int = 0) -> AttackResult:
    """Creates sybils that engage nothing (no source; checks reference, 2024)."""
    import scipy.sparse as sp

    rows = sp.csr_matrix((n_sybils, interactions.shape[1]), dtype=np.float32)
    return AttackResult("null_reco_attack", "failed", artifacts={"sybil_interactions": rows, "follows": np.empty((0, 2), np.int64),
                                                                 "targets": np.asarray(targets)},
                        seed=seed, failure_reason="did nothing")


def null_reco_defense(interactions: Any, *, timestamps: Any = None, follows: Any = None, seed: int = 0) -> DefenseResult:
    """Flags no account, scores everyone alike (no source; checks reference, 2024)."""
    n = interactions.shape[0]
    return DefenseResult("null_reco_defense", np.ones(n, bool), np.zeros(n), seed=seed)
