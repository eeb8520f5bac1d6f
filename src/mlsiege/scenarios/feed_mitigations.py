"""Platform mitigations of the feed demo, applied every round before the recommender retrains.

Each mitigation is a small object with one job: given the log the platform holds at a round
(binary engagement, timestamps, follow graph), return how much each engagement may count in
training (a matrix with the log's sparsity, values in [0, 1]). The simulator's ``train_view``
hook applies it, so a mitigation in place from the start is measured *with* the feedback loop:
sybil engagement the recommender never learned from carries no target into real timelines, and
real users then never engage with it. Built on :mod:`mlsiege.defenses.reco` (detectors, SybilRank
trust, cohort influence caps, retraining without flagged accounts).

``flagged`` after a run is the set of accounts that counted at less than half weight (or were
removed) at the last round: what a trust-and-safety team would see as "acted on".
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco import coordination_scorer, fraudar_hooi2016
from mlsiege.defenses.reco.flagging import fpr_threshold
from mlsiege.defenses.reco.ranking import cap_cohort_influence
from mlsiege.defenses.reco.trust import trust_scores
from mlsiege.errors import ConfigError

__all__ = ["MITIGATIONS", "FeedMitigation", "MitigationView", "build_view"]


@dataclass(frozen=True)
class FeedMitigation:
    """A named mitigation: what it does, the ATLAS mitigations it implements, and an honest note.

    ``knows_generator`` says whether the mitigation's detector was built or tuned knowing how
    this simulator's sybils behave (a result that may not carry over to real attackers).
    """

    key: str
    name: str
    description: str
    atlas: tuple[str, ...]
    knows_generator: bool = False
    note: str = ""


MITIGATIONS: dict[str, FeedMitigation] = {
    "detect-retrain": FeedMitigation(
        "detect-retrain", "detection + retraining without flagged accounts",
        "coordination scorer and FRAUDAR each round, thresholds at the false-positive budget on the clean platform's log "
        "of the same round; flagged accounts' engagement is dropped before retraining",
        ("AML.M0007", "AML.M0015"), knows_generator=True,
        note="the coordination scorer looks for fresh accounts acting in the same time window, which is how this "
             "simulator's fresh sybils behave (and how its planted test platform was built); treat its catch rate "
             "against fresh accounts as optimistic"),
    "ensemble-retrain": FeedMitigation(
        "ensemble-retrain", "detector ensemble + retraining without flagged accounts",
        "the default detector set `mlsiege reco detect` picks for this log (coordination scorer for timed "
        "engagements, SybilRank for the follow graph), each flagging what is significant against the log's own null, "
        "capped at the false-positive budget; flagged accounts' engagement is dropped before retraining",
        ("AML.M0007", "AML.M0015"), knows_generator=True,
        note="the ensemble's coordination member looks for fresh accounts acting together, as this simulator's fresh "
             "sybils do; its SybilRank member inherits SybilRank's trouble on a follower-style graph"),
    "trust-weighted": FeedMitigation(
        "trust-weighted", "trust-weighted ranking (SybilRank)",
        "each account's engagement counts min(1, trust / median trust), trust propagated over mutual follows from the "
        "best-connected accounts (Cao et al. 2012)",
        ("AML.M0007",),
        note="structural: uses only the follow graph, no knowledge of the attack"),
    "cohort-caps": FeedMitigation(
        "cohort-caps", "cohort caps (join week)",
        "accounts whose first engagement falls in the same week form a cohort; no cohort gives an item more than its "
        "fair share of weight (at least 5 engagements)",
        ("AML.M0007",),
        note="structural, but keyed on account age: accounts bought already aged spread over many cohorts"),
    "caps-and-reciprocity": FeedMitigation(
        "caps-and-reciprocity", "cohort caps + reciprocity discount",
        "cohort caps, and an engagement shared with n accounts that follow each other both ways counts 1 / (1 + n): "
        "a reciprocal-follow cluster liking the same post counts about once",
        ("AML.M0007",),
        note="structural (account age and follow-graph position, no detector); the discount holds against pods "
             "because a pod is a reciprocity group (Weerasinghe et al. 2020); bought aged accounts that do not follow "
             "each other (variant aged-ring) got through it in our runs, and the cohort caps stop a crowd only if it is fresh"),
}


@dataclass
class MitigationView:
    """The ``train_view`` of one mitigation for one run; remembers what it flagged."""

    weigh: Callable[[int, sp.csr_matrix, sp.csr_matrix, sp.csr_matrix], np.ndarray]
    flagged: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=bool))

    def __call__(self, r: int, engaged: sp.csr_matrix, timestamps: sp.csr_matrix, follows: sp.csr_matrix) -> sp.csr_matrix:
        engaged = sp.csr_matrix(engaged, dtype=np.float32)
        engaged.sort_indices()
        factor = np.clip(self.weigh(r, engaged, timestamps, follows), 0.0, 1.0)
        account = np.ones(engaged.shape[0])
        rows = np.repeat(np.arange(engaged.shape[0]), np.diff(engaged.indptr))
        np.minimum.at(account, rows, factor)
        self.flagged = account < 0.5
        out = engaged.copy()
        out.data = (engaged.data * factor).astype(np.float32)  # explicit zeros stay: the account still saw the item
        return out


def _entry_factor(engaged: sp.csr_matrix, weighted: sp.spmatrix) -> np.ndarray:
    """``weighted / engaged`` at each stored entry of ``engaged`` (in its storage order)."""
    rows = np.repeat(np.arange(engaged.shape[0]), np.diff(engaged.indptr))
    values = np.asarray(sp.csr_matrix(weighted)[rows, engaged.indices]).ravel()
    return values / np.maximum(engaged.data, 1e-12)


def _trust_factor(engaged: sp.csr_matrix, follows: sp.csr_matrix) -> np.ndarray:
    trust = trust_scores(follows)
    pos = trust[trust > 0]
    weight = np.minimum(1.0, trust / (float(np.median(pos)) if pos.size else 1.0))
    return np.repeat(weight, np.diff(engaged.indptr))


def _caps_factor(engaged: sp.csr_matrix, timestamps: sp.csr_matrix) -> np.ndarray:
    capped, _ = cap_cohort_influence(engaged, timestamps)
    return _entry_factor(engaged, capped)


def _reciprocity_factor(engaged: sp.csr_matrix, follows: sp.csr_matrix) -> np.ndarray:
    """``1 / (1 + n)`` per engagement, ``n`` = mutual-follow neighbours who engaged with the same item."""
    F = sp.csr_matrix(follows, dtype=np.float32, copy=True)
    F.data[:] = 1.0
    mutual = sp.csr_matrix(F.multiply(F.T))
    mutual.setdiag(0.0)
    mutual.eliminate_zeros()
    binary = engaged.copy()
    binary.data[:] = 1.0
    shared = sp.csr_matrix(mutual @ binary)
    return 1.0 / (1.0 + _entry_factor(binary, shared))


def build_view(key: str, *, n_real: int, reference: Mapping[int, Mapping[str, Any]] | None, fpr_budget: float,
               seed: int) -> MitigationView:
    """The ``train_view`` of mitigation ``key`` (see :data:`MITIGATIONS`).

    ``reference[round]`` (``interactions``, ``timestamps``, ``follows`` of the clean platform at
    that round) sets detection thresholds at ``fpr_budget``; without it the budget applies to
    the log itself (the top ``fpr_budget`` share is flagged).
    """
    if key not in MITIGATIONS:
        raise ConfigError(f"unknown mitigation {key!r}; choose from {', '.join(MITIGATIONS)}")
    thresholds: dict[tuple[int, str], float] = {}
    detectors = {"coordination": coordination_scorer, "fraudar": fraudar_hooi2016}

    def detect(r: int, engaged: sp.csr_matrix, timestamps: sp.csr_matrix, follows: sp.csr_matrix) -> np.ndarray:
        drop = np.zeros(engaged.shape[0], dtype=bool)
        for name, detector in detectors.items():
            res = detector(engaged, timestamps=timestamps, follows=follows, seed=seed)
            if (r, name) not in thresholds:
                if reference is not None and r in reference:
                    ref = reference[r]
                    ref_res = detector(ref["interactions"], timestamps=ref["timestamps"], follows=ref["follows"], seed=seed)
                    thresholds[(r, name)] = fpr_threshold(ref_res.scores, fpr_budget)
                else:
                    thresholds[(r, name)] = fpr_threshold(res.scores, fpr_budget)
            drop |= np.asarray(res.scores) > thresholds[(r, name)]
        return np.repeat(np.where(drop, 0.0, 1.0), np.diff(engaged.indptr))

    def ensemble(engaged: sp.csr_matrix, timestamps: sp.csr_matrix, follows: sp.csr_matrix) -> np.ndarray:
        from mlsiege.defenses.reco.ensemble import run_ensemble

        flagged = run_ensemble(engaged, timestamps=timestamps, follows=follows, seed=seed, fpr_budget=fpr_budget).flagged
        return np.repeat(np.where(flagged, 0.0, 1.0), np.diff(engaged.indptr))

    def weigh(r: int, engaged: sp.csr_matrix, timestamps: sp.csr_matrix, follows: sp.csr_matrix) -> np.ndarray:
        if key == "detect-retrain":
            return detect(r, engaged, timestamps, follows)
        if key == "ensemble-retrain":
            return ensemble(engaged, timestamps, follows)
        if key == "trust-weighted":
            return _trust_factor(engaged, follows)
        if key == "cohort-caps":
            return _caps_factor(engaged, timestamps)
        return np.minimum(_reciprocity_factor(engaged, follows), _caps_factor(engaged, timestamps))

    return MitigationView(weigh)
