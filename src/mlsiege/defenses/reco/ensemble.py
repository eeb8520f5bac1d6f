"""The default detector set for a log: what the log supports runs, the rest is skipped with a reason.

:func:`plan` looks at the log (explicit ratings or implicit engagements, timestamps or not, a
follow graph or not) and picks:

* ``target_groups`` (:func:`~mlsiege.defenses.reco.target_groups.target_groups_zhou2016`) on
  explicit ratings: pushed or nuked items and the groups of unusual profiles behind them;
* ``coordination`` (:func:`~mlsiege.defenses.reco.scorers.coordination_scorer`) when every
  engagement has a time: crowds of fresh accounts acting together;
* ``sybilrank`` (:func:`~mlsiege.defenses.reco.trust.sybilrank_cao2012`) when a follow graph is given.

:func:`run_ensemble` runs them; an account is flagged by the ensemble when any member flags it
(each member flags only what is significant against the log's own null, so the union stays
near zero on an attack-free log). ``fpr_budget`` is an optional upper bound per member
(:func:`~mlsiege.defenses.reco.flagging.cap_flags`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.flagging import screen_accounts
from mlsiege.defenses.reco.scorers import coordination_scorer
from mlsiege.defenses.reco.target_groups import target_groups_zhou2016
from mlsiege.defenses.reco.trust import sybilrank_cao2012
from mlsiege.results import DefenseResult

__all__ = ["EnsembleResult", "is_explicit", "plan", "run_ensemble"]

#: member name -> (recipe, what it needs: "ratings", "time", "follows")
MEMBERS: dict[str, tuple[Callable[..., DefenseResult], tuple[str, ...]]] = {
    "target_groups": (target_groups_zhou2016, ("ratings",)),
    "coordination": (coordination_scorer, ("time",)),
    "sybilrank": (sybilrank_cao2012, ("follows",)),
}

REASONS = {
    "ratings": "the log holds implicit engagements (one value), not explicit ratings",
    "time": "the log has no timestamps",
    "follows": "no follow graph given (--follows)",
}


def is_explicit(interactions: Any) -> bool:
    """True when the stored values take more than one distinct value (ratings, not clicks)."""
    data = sp.csr_matrix(interactions).data
    return bool(data.size) and np.unique(data).size > 1


def plan(*, explicit: bool, has_time: bool, has_follows: bool) -> tuple[list[str], dict[str, str]]:
    """Members to run and members skipped with the reason, for a log with these properties.

    Examples
    --------
    >>> plan(explicit=True, has_time=False, has_follows=False)
    (['target_groups'], {'coordination': 'the log has no timestamps', 'sybilrank': 'no follow graph given (--follows)'})
    """
    have = {"ratings": explicit, "time": has_time, "follows": has_follows}
    run, skipped = [], {}
    for name, (_, needs) in MEMBERS.items():
        missing = [n for n in needs if not have[n]]
        if missing:
            skipped[name] = REASONS[missing[0]]
        else:
            run.append(name)
    return run, skipped


@dataclass(frozen=True)
class EnsembleResult:
    """The members' results, the union of their flags, and what was skipped and why."""

    members: dict[str, DefenseResult]
    flagged: np.ndarray
    skipped: dict[str, str] = field(default_factory=dict)

    def flagged_by(self, account: int) -> list[str]:
        return [n for n, r in self.members.items() if r.flagged[account]]


def run_ensemble(interactions: Any, *, timestamps: Any = None, follows: Any = None, seed: int = 0, fpr_budget: float | None = None) -> EnsembleResult:
    """Run the members :func:`plan` picks for this log; flagged = union of their flags.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> res = run_ensemble(p.interactions, timestamps=p.timestamps)
    >>> sorted(res.members), res.skipped
    (['coordination', 'target_groups'], {'sybilrank': 'no follow graph given (--follows)'})
    """
    names, skipped = plan(explicit=is_explicit(interactions), has_time=timestamps is not None, has_follows=follows is not None)
    results = screen_accounts({n: MEMBERS[n][0] for n in names}, interactions, timestamps=timestamps, follows=follows, fpr_budget=fpr_budget, seed=seed)
    n = sp.csr_matrix(interactions).shape[0]
    flagged = np.zeros(n, bool)
    for r in results.values():
        flagged |= r.flagged
    return EnsembleResult(results, flagged, skipped)
