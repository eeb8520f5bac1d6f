"""Metrics of model extraction: how faithfully a surrogate copies the target, and at what cost.

* fidelity: agreement between surrogate and target on held-out rows (Jagielski et al. 2020
  distinguish it from accuracy: an extraction wants the target's mistakes too), reported by
  :func:`fidelity_report` with the rows it was measured on, their count, a 95% Wilson interval
  and the agreement a constant copy would reach on the same rows;
* accuracy: agreement of the surrogate with the true labels;
* rule coverage / precision: how much of what the target rejects a recovered rule list covers,
  and how much of what it covers the target really rejects;
* transfer rate: of the evasions that fool the surrogate, how many fool the target
  (Papernot et al. 2017).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from mlsiege.errors import ConfigError

__all__ = [
    "FIDELITY_ROWS",
    "accuracy",
    "fidelity",
    "fidelity_report",
    "max_weight_error",
    "rule_coverage_precision",
    "transfer_rate",
    "wilson_interval",
]

#: Where a fidelity was measured: real rows the surrogate never trained on, or synthesized rows
#: of the schema's box (which say how well the copy agrees where nobody sends traffic).
FIDELITY_ROWS = ("data", "box")


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


def wilson_interval(successes: int, n: int, confidence: float = 0.95) -> tuple[float, float]:
    """Wilson score interval of a proportion (``(nan, nan)`` when ``n`` is 0).

    Unlike the normal approximation it stays inside [0, 1] and keeps its coverage near the
    nominal level for small ``n`` and proportions near 0 or 1, where fidelities live (Brown,
    Cai, DasGupta 2001). Computed by :meth:`scipy.stats.binomtest` ``.proportion_ci``.

    References
    ----------
    Wilson, E. B. "Probable inference, the law of succession, and statistical inference",
    JASA 22 (1927). Brown, Cai, DasGupta. "Interval Estimation for a Binomial Proportion",
    Statistical Science 16 (2001).

    Examples
    --------
    >>> [round(v, 3) for v in wilson_interval(9, 10)]
    [0.596, 0.982]
    """
    if n <= 0:
        return float("nan"), float("nan")
    from scipy.stats import binomtest

    ci = binomtest(int(successes), int(n)).proportion_ci(confidence_level=confidence, method="wilson")
    return float(ci.low), float(ci.high)


def fidelity_report(surrogate: Any, X: np.ndarray, y_target: np.ndarray, rows: str) -> dict[str, Any]:
    """Fidelity with what a reader needs to weigh it.

    Parameters
    ----------
    surrogate
        The copy (anything with ``predict``).
    X, y_target
        The evaluation rows and the target's answers on them.
    rows
        ``"data"`` (real rows the surrogate did not train on) or ``"box"`` (synthesized rows
        of the schema's box).

    Returns
    -------
    dict
        ``fidelity``, ``fidelity_rows``, ``fidelity_n`` (row count), ``fidelity_ci`` (95%
        Wilson interval) and ``fidelity_constant``: the agreement of a copy that always answers
        the target's most common label on these rows (a fidelity near it means nothing was copied).

    Examples
    --------
    >>> from sklearn.dummy import DummyClassifier
    >>> s = DummyClassifier(strategy="constant", constant=1).fit([[0], [1]], [0, 1])
    >>> r = fidelity_report(s, np.zeros((4, 1)), np.array([1, 1, 0, 1]), "data")
    >>> r["fidelity"], r["fidelity_n"], r["fidelity_constant"]
    (0.75, 4, 0.75)
    """
    if rows not in FIDELITY_ROWS:
        raise ConfigError(f"rows must be one of {FIDELITY_ROWS}, got {rows!r}")
    y_target = np.asarray(y_target)
    n = len(y_target)
    agree = int(np.sum(np.asarray(surrogate.predict(X)) == y_target)) if n else 0
    constant = float(np.unique(y_target, return_counts=True)[1].max() / n) if n else float("nan")
    low, high = wilson_interval(agree, n)
    return {
        "fidelity": agree / n if n else float("nan"),
        "fidelity_rows": rows,
        "fidelity_n": n,
        "fidelity_ci": [round(low, 4), round(high, 4)],
        "fidelity_constant": constant,
    }
