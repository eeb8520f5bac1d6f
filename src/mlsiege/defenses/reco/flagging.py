"""From per-account suspicion scores to flags: thresholds set by a false-positive budget.

A detector scores every account (higher = more suspicious). Where the flag line goes is a
policy, not a property of the detector: :func:`fpr_threshold` puts it where at most ``budget``
of a *reference* population of real accounts would be flagged (a campaign-free platform, or last
month's log), and :func:`rethreshold` applies it to a result. Never set it on the labels the
result is scored against.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

import numpy as np

from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["ATLAS_MITIGATIONS", "account_result", "fpr_threshold", "rethreshold", "screen_accounts"]

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
    fpr_budget: float = 0.005,
    seed: int = 0,
) -> dict[str, DefenseResult]:
    """Run several detectors with thresholds set by a false-positive budget (the scenario hook).

    ``detectors`` maps a name to a recipe. With ``reference`` (a campaign-free log: a mapping
    with ``interactions`` and optionally ``timestamps``, ``follows``), each threshold flags at
    most ``fpr_budget`` of the reference's accounts. Without it every account of the log is
    presumed real: an account is flagged when the detector's own rule flags it *and* it is in
    the top ``fpr_budget`` share of the log's scores.
    """
    from dataclasses import replace

    out = {}
    for name, detector in detectors.items():
        res = detector(interactions, timestamps=timestamps, follows=follows, seed=seed)
        if reference is not None:
            ref = detector(reference["interactions"], timestamps=reference.get("timestamps"), follows=reference.get("follows"), seed=seed)
            res = rethreshold(res, fpr_threshold(ref.scores, fpr_budget))
        else:
            t = fpr_threshold(res.scores, fpr_budget)
            keep = res.keep_mask | ~(res.scores > t)
            groups = {k: v for k, v in res.groups.items() if not keep[int(k)]}
            res = replace(res, keep_mask=keep, groups=groups, metrics={**res.metrics, "threshold": t, "flagged": int((~keep).sum())})
        out[name] = res
    return out
