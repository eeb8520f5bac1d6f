"""From per-account suspicion scores to flags: significance against the log's own null.

A detector scores every account (higher = more suspicious). It flags what is *significant*
against a null fitted on the same log, so an attack-free log gets (almost) no flags and a large
campaign is not capped by a share:

* :func:`robust_z` standardizes a per-account statistic against a robust background model fitted
  on the log itself (Huber regression on ``log degree`` so heavy raters are judged against heavy
  raters, residuals scaled by ``sqrt(degree)`` and the MAD; a campaign of up to ~20% of the
  accounts barely moves either fit).
* :func:`empirical_null_pvalues` turns z-scores into upper-tail p-values under the *empirical
  null* (Efron 2004): a normal fitted to the central half of the scores, so a statistic whose
  real spread is wider than N(0, 1) does not flag its own tails.
* :func:`significant` applies Bonferroni (family-wise error ``alpha``) or Benjamini-Hochberg
  (false discovery rate ``alpha``) to those p-values.
* :func:`cap_flags` is the optional ``--fpr-budget``: an *upper bound* on the share flagged,
  never the mechanism. Accounts tied at the cut-off are all kept (the bound is exceeded by the
  tie and the excess is reported), never all dropped.

Timed detectors use the same three calls: compute a per-account statistic, ``robust_z`` (or
their own p-values), ``significant``, then ``cap_flags`` if the user gave a budget::

    z = robust_z(statistic, degree)
    flagged = significant(empirical_null_pvalues(z), alpha=0.01)
    flagged, info = cap_flags(z, flagged, budget=None)

:func:`fpr_threshold` and :func:`rethreshold` remain for setting a threshold on a *reference*
log (a campaign-free platform, last month's log) at a budget; never set one on the labels a
result is scored against.

References: B. Efron, "Large-scale simultaneous hypothesis testing: the choice of a null
hypothesis", JASA 99, 2004; Y. Benjamini, Y. Hochberg, JRSS B 57, 1995; P. J. Huber, "Robust
estimation of a location parameter", 1964.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = [
    "ATLAS_MITIGATIONS",
    "account_result",
    "cap_flags",
    "empirical_null_pvalues",
    "fpr_threshold",
    "rethreshold",
    "robust_z",
    "screen_accounts",
    "significant",
]

#: Sanitize Training Data, Adversarial Input Detection
ATLAS_MITIGATIONS = ("AML.M0007", "AML.M0015")


def fpr_threshold(reference_scores: np.ndarray, budget: float) -> float:
    """Smallest threshold flagging at most ``budget`` of ``reference_scores`` (flag = score > t).

    Examples
    --------
    >>> fpr_threshold(np.array([0.0, 0.0, 0.0, 1.0, 5.0]), 0.2)
    1.0
    """
    if not 0.0 <= budget < 1.0:
        raise ConfigError(f"fpr budget must be in [0, 1), got {budget}")
    s = np.sort(np.asarray(reference_scores, dtype=float))[::-1]
    if s.size == 0:
        raise ConfigError("no reference scores to set a threshold on")
    allowed = int(np.floor(budget * s.size + 1e-9))
    # flag the `allowed` highest; ties at the line are kept (never over budget)
    return float(s[allowed]) if allowed < s.size else float(s[-1])


def robust_z(values: np.ndarray, degree: np.ndarray | None = None, *, power: float = 0.5, max_fit: int = 5000, seed: int = 0) -> np.ndarray:
    """Robust z-scores of a per-account statistic, conditioned on the account's degree.

    With ``degree``, the statistic's trend in ``log degree`` is removed by a Huber regression
    (scikit-learn's ``HuberRegressor``) and the residual is scaled by ``degree ** power``
    (0.5: the statistic is a mean over the account's engagements, whose spread shrinks as
    ``1 / sqrt(n)``), then by its median absolute deviation. NaN stays NaN (no evidence). On
    more than ``max_fit`` accounts the regression is fitted on a sample of them drawn by ``seed``.

    Examples
    --------
    >>> z = robust_z(np.r_[np.zeros(50), 1.0, 2.0, 30.0] + np.linspace(-1, 1, 53))
    >>> bool(z[-1] > 10 > abs(z[:50]).max())
    True
    """
    from sklearn.linear_model import HuberRegressor

    v = np.asarray(values, dtype=float)
    ok = np.isfinite(v)
    out = np.full(v.size, np.nan)
    if ok.sum() < 3:
        return out
    res = v[ok].copy()
    if degree is not None:
        d = np.maximum(np.asarray(degree, dtype=float)[ok], 1.0)
        x = np.log(d)[:, None]
        if np.ptp(x) > 0:
            fit_on = np.arange(res.size)
            if res.size > max_fit:
                fit_on = np.random.default_rng(seed).choice(res.size, max_fit, replace=False)
            fit = HuberRegressor(max_iter=200).fit(x[fit_on], res[fit_on])
            res = res - fit.predict(x)
        res = res * d**power
    med = float(np.median(res))
    mad = 1.4826 * float(np.median(np.abs(res - med)))
    if mad <= 0:
        mad = float(np.std(res)) or 1.0
    out[ok] = (res - med) / mad
    return out


def empirical_null_pvalues(z: np.ndarray, *, central: float = 0.5) -> np.ndarray:
    """Upper-tail p-values of ``z`` under a normal fitted to its central ``central`` share.

    The empirical null of Efron (2004), fitted by quantiles: location = median, scale = the
    interquartile range over its normal value (for ``central`` 0.5). A campaign in one tail
    leaves the centre, hence the null, nearly untouched. NaN gives p = 1.

    Examples
    --------
    >>> p = empirical_null_pvalues(np.r_[np.random.default_rng(0).normal(5, 2, 1000), 40.0])
    >>> bool(p[-1] < 1e-40), bool(p[:-1].min() > 1e-6)
    (True, True)
    """
    from scipy.stats import norm

    z = np.asarray(z, dtype=float)
    ok = np.isfinite(z)
    p = np.ones(z.size)
    if ok.sum() < 3:
        return p
    lo, hi = np.quantile(z[ok], [0.5 - central / 2, 0.5 + central / 2])
    scale = (hi - lo) / (norm.ppf(0.5 + central / 2) - norm.ppf(0.5 - central / 2))
    scale = scale if scale > 0 else (float(np.std(z[ok])) or 1.0)
    p[ok] = norm.sf((z[ok] - float(np.median(z[ok]))) / scale)
    return p


def significant(pvalues: np.ndarray, alpha: float = 0.01, method: str = "bonferroni") -> np.ndarray:
    """Flags: p-values significant at family-wise ``alpha`` (``bonferroni``) or FDR ``alpha`` (``bh``).

    Examples
    --------
    >>> significant(np.array([1e-9, 0.004, 0.3]), alpha=0.01).tolist()
    [True, False, False]
    >>> significant(np.array([1e-9, 0.004, 0.3]), alpha=0.02, method="bh").tolist()
    [True, True, False]
    """
    if not 0 < alpha < 1:
        raise ConfigError(f"alpha must be in (0, 1), got {alpha}")
    p = np.asarray(pvalues, dtype=float)
    m = p.size
    if m == 0:
        return np.zeros(0, bool)
    if method == "bonferroni":
        return p * m < alpha
    if method == "bh":
        order = np.argsort(p, kind="stable")
        passed = p[order] <= alpha * np.arange(1, m + 1) / m
        k = int(np.flatnonzero(passed).max()) + 1 if passed.any() else 0
        out = np.zeros(m, bool)
        out[order[:k]] = True
        return out
    raise ConfigError(f"unknown multiple-testing method {method!r}; choose bonferroni or bh")


def cap_flags(scores: np.ndarray, flagged: np.ndarray, budget: float | None) -> tuple[np.ndarray, dict[str, Any]]:
    """At most ``budget`` of the accounts flagged (highest scores first); ties at the cut-off kept.

    ``budget=None`` changes nothing. When accounts tied at the cut-off straddle it, all of them
    stay flagged (a tie is never split by dropping everyone) and ``exceeded_by_ties`` says by how
    many the bound was exceeded.

    Examples
    --------
    >>> f, info = cap_flags(np.array([5.0, 5.0, 5.0, 1.0]), np.array([1, 1, 1, 1], bool), 0.5)
    >>> f.tolist(), info["exceeded_by_ties"]
    ([True, True, True, False], 1)
    """
    flagged = np.asarray(flagged, dtype=bool).copy()
    info: dict[str, Any] = {"budget": budget, "capped": 0, "exceeded_by_ties": 0}
    if budget is None:
        return flagged, info
    if not 0.0 <= budget < 1.0:
        raise ConfigError(f"fpr budget must be in [0, 1), got {budget}")
    allowed = int(np.floor(budget * flagged.size + 1e-9))
    if flagged.sum() <= allowed:
        return flagged, info
    s = np.asarray(scores, dtype=float)
    idx = np.flatnonzero(flagged)
    ranked = idx[np.argsort(-s[idx], kind="stable")]
    if allowed == 0:
        keep = ranked[:0]
    else:
        line = s[ranked[allowed - 1]]
        keep = ranked[s[ranked] >= line]  # everyone tied with the last kept account stays
    out = np.zeros_like(flagged)
    out[keep] = True
    info.update(capped=int(flagged.sum() - out.sum()), exceeded_by_ties=int(max(out.sum() - allowed, 0)))
    return out, info


def rethreshold(result: DefenseResult, threshold: float) -> DefenseResult:
    """A copy of ``result`` flagging exactly the accounts scoring above ``threshold``."""
    from dataclasses import replace

    keep = ~(result.scores > threshold)
    groups = {k: v for k, v in result.groups.items() if not keep[int(k)]}
    return replace(result, keep_mask=keep, groups=groups, metrics={**result.metrics, "threshold": float(threshold), "flagged": int((~keep).sum())})


def account_result(
    name: str,
    scores: np.ndarray,
    flagged: np.ndarray,
    *,
    groups: np.ndarray | None = None,
    config: Mapping[str, Any],
    seed: int,
    started: float,
    threshold: float | None = None,
    **metrics: Any,
) -> DefenseResult:
    """Package one detector's output; ``threshold`` (if given) overrides the detector's own rule."""
    scores = np.asarray(scores, dtype=float)
    flagged = np.asarray(flagged, dtype=bool)
    if threshold is not None:
        flagged = scores > threshold
    gid = {} if groups is None else {int(a): int(groups[a]) for a in np.flatnonzero(flagged) if groups[a] >= 0}
    return DefenseResult(
        name,
        ~flagged,
        scores,
        cost={"accounts_flagged": int(flagged.sum())},
        seconds=time.perf_counter() - started,
        config=dict(config),
        seed=seed,
        atlas_mitigations=ATLAS_MITIGATIONS,
        metrics={"flagged": int(flagged.sum()), "threshold": threshold, **metrics},
        groups=gid,
    )


def screen_accounts(
    detectors: Mapping[str, Any],
    interactions: Any,
    *,
    timestamps: Any = None,
    follows: Any = None,
    reference: Mapping[str, Any] | None = None,
    fpr_budget: float | None = None,
    seed: int = 0,
) -> dict[str, DefenseResult]:
    """Run several detectors and flag what each finds significant (the scenario hook).

    ``detectors`` maps a name to a recipe. Without ``reference`` an account is flagged when the
    detector's own (calibrated) rule flags it; ``fpr_budget``, if given, is an upper bound on
    the share flagged (highest scores kept, ties at the cut-off kept, see :func:`cap_flags`).
    With ``reference`` (a campaign-free log: a mapping with ``interactions`` and optionally
    ``timestamps``, ``follows``), each threshold instead flags at most ``fpr_budget`` of the
    reference's accounts.
    """
    from dataclasses import replace

    out = {}
    for name, detector in detectors.items():
        res = detector(interactions, timestamps=timestamps, follows=follows, seed=seed)
        if reference is not None:
            ref = detector(reference["interactions"], timestamps=reference.get("timestamps"), follows=reference.get("follows"), seed=seed)
            res = rethreshold(res, fpr_threshold(ref.scores, 0.005 if fpr_budget is None else fpr_budget))
        else:
            flagged, info = cap_flags(res.scores, res.flagged, fpr_budget)
            keep = ~flagged
            groups = {k: v for k, v in res.groups.items() if not keep[int(k)]}
            res = replace(res, keep_mask=keep, groups=groups, metrics={**res.metrics, "flagged": int(flagged.sum()), "fpr_cap": info})
        out[name] = res
    return out
