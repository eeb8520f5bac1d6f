"""Metrics of model extraction: how faithfully a surrogate copies the target, and at what cost.

* fidelity: agreement between surrogate and target on held-out rows (Jagielski et al. 2020
  distinguish it from accuracy: an extraction wants the target's mistakes too);
* accuracy: agreement of the surrogate with the true labels;
* rule coverage / precision: how much of what the target rejects a recovered rule list covers,
  and how much of what it covers the target really rejects;
* transfer rate: of the evasions that fool the surrogate, how many fool the target
  (Papernot et al. 2017).
"""

from __future__ import annotations

from typing import Any

import numpy as np

__all__ = ["accuracy", "fidelity", "max_weight_error", "rule_coverage_precision", "transfer_rate"]


def fidelity(surrogate: Any, X: np.ndarray, y_target: np.ndarray) -> float:
    """Fraction of ``X`` on which ``surrogate.predict`` agrees with the target's labels ``y_target``.

    Examples
    --------
    >>> import numpy as np
    >>> from sklearn.dummy import DummyClassifier
    >>> s = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    >>> fidelity(s, np.zeros((4, 1)), np.array([1, 1, 0, 1]))
    0.75
    """
    y_target = np.asarray(y_target)
    if len(y_target) == 0:
        return float("nan")
    return float(np.mean(np.asarray(surrogate.predict(X)) == y_target))


def accuracy(surrogate: Any, X: np.ndarray, y_true: np.ndarray) -> float:
    """Fraction of ``X`` the surrogate labels correctly (against the ground truth)."""
    return fidelity(surrogate, X, y_true)


def rule_coverage_precision(covered: np.ndarray, rejected: np.ndarray) -> tuple[float, float]:
    """``(coverage, precision)`` of a rule list on held-out rows.

    ``covered`` marks rows a rule fires on, ``rejected`` rows the target rejects. Coverage is the
    share of rejected rows covered (NaN when the target rejects nothing), precision the share of
    covered rows rejected (NaN when no rule fires).
    """
    covered, rejected = np.asarray(covered, dtype=bool), np.asarray(rejected, dtype=bool)
    coverage = float((covered & rejected).sum() / rejected.sum()) if rejected.any() else float("nan")
    precision = float((covered & rejected).sum() / covered.sum()) if covered.any() else float("nan")
    return coverage, precision


def transfer_rate(fooled_surrogate: np.ndarray, fooled_target: np.ndarray) -> float:
    """Share of the rows that fool the surrogate which also fool the target (NaN if none do)."""
    s, t = np.asarray(fooled_surrogate, dtype=bool), np.asarray(fooled_target, dtype=bool)
    return float((s & t).sum() / s.sum()) if s.any() else float("nan")


def max_weight_error(true_coef: np.ndarray, recovered: np.ndarray) -> float:
    """Largest absolute difference between true and recovered parameters (weights and bias)."""
    a, b = np.ravel(np.asarray(true_coef, dtype=float)), np.ravel(np.asarray(recovered, dtype=float))
    if a.shape != b.shape:
        return float("inf")
    return float(np.max(np.abs(a - b))) if a.size else 0.0
