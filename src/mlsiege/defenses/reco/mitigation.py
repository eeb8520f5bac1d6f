"""Mitigations measured on one case: how much target exposure they take away, and what they cost.

:func:`measure_mitigation` is the one call a benchmark, a scenario or a demo makes::

    measure_mitigation(
        interactions, *, timestamps=None, follows=None, is_sybil, targets, audience,
        mitigation="retrain_without_flagged", detector=None, flagged=None, threshold=None,
        recommender="weighted-item-knn", k=50, n_util=1000, seed=0,
    ) -> MitigationResult

It splits the log the same way for every mitigation (each real account with at least 5
engagements loses its latest one, or a seeded random one when the log has no times, to a
held-out set), trains the recommender on the attacked log, on the log without the sybils (the
exposure the targets would have had without the campaign) and on the mitigated log, and reports

* ``exposure_clean / _attacked / _mitigated``: hit ratio at ``k`` of the target items among the
  real ``audience`` accounts that had not engaged them (:func:`mlsiege.metrics.reco.hit_ratio_at_k`);
* ``exposure_reduction``: ``(attacked - mitigated) / attacked`` (0 when the attack gave nothing);
* ``utility_loss``: relative loss of recall at ``k`` on real users' held-out next engagements,
  ``(attacked - mitigated) / attacked`` (negative when the mitigation helps real users too);
* ``sybils_flagged`` / ``real_flagged``: accounts the mitigation removed (``retrain_without_flagged``)
  or weighted below one half (``trust_weighted``, ``cohort_caps``).

Mitigations (:data:`MITIGATIONS`): ``none``; ``retrain_without_flagged`` (the accounts a
``detector`` flags on the training log, or a given ``flagged`` mask, are left out of training);
``trust_weighted`` (SybilRank trust over mutual follows, :func:`~mlsiege.defenses.reco.ranking.trust_weighted`);
``cohort_caps`` (per join-cohort influence caps, :func:`~mlsiege.defenses.reco.ranking.cap_cohort_influence`).

Recommenders: ``"weighted-item-knn"`` (item-item cosine on the weighted matrix, Sarwar et al.
2001; it honours engagement weights, and serves each user from their own full history), any name
of :func:`mlsiege.targets.recommenders.make_recommender`, or a zero-argument factory returning an
object with ``fit(interactions, follows)`` and ``recommend(users, k)``. The library's recommenders
binarize what they are trained on, so for them a weighted mitigation keeps the engagements whose
weight is at least one half and drops the rest.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.ranking import (
    cap_cohort_influence,
    item_knn_topk,
    trust_weighted,
    without_accounts,
)
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.metrics.reco import hit_ratio_at_k, recall_at_k

__all__ = ["MITIGATIONS", "MitigationResult", "WeightedItemKNN", "holdout_latest", "measure_mitigation"]

MITIGATIONS = ("none", "retrain_without_flagged", "trust_weighted", "cohort_caps")
MIN_WEIGHT = 0.5  # a weighted engagement below this is dropped for recommenders that binarize


@dataclass(frozen=True)
class MitigationResult:
    """Exposure and utility of one mitigation on one case (see the module docstring for units)."""

    mitigation: str
    exposure_clean: float
    exposure_attacked: float
    exposure_mitigated: float
    exposure_reduction: float
    excess_exposure_removed: float | None  # share of the campaign's gain removed; None when it gained nothing
    utility_attacked: float
    utility_mitigated: float
    utility_loss: float
    sybils_flagged: int
    real_flagged: int
    sybils: int
    audience_scored: int
    users_scored: int
    k: int
    seconds: float
    config: dict[str, Any] = field(default_factory=dict)

    def as_row(self) -> dict[str, Any]:
        """A flat, JSON-ready dict (floats rounded to 4 places)."""
        out = {}
        for name in self.__dataclass_fields__:
            v = getattr(self, name)
            out[name] = round(v, 4) if isinstance(v, float) else v
        return out


class WeightedItemKNN:
    """Item-item cosine on the (weighted) training matrix; users served from ``history``.

    Trained on a mitigated matrix, the similarities change; each user is still served from
    their own full history (``history``, default the training matrix), as a deployed item-kNN
    is: removing an account from training does not erase what it engaged.
    """

    name = "weighted-item-knn"

    def __init__(self, history: sp.spmatrix | None = None) -> None:
        self.history = history

    def fit(self, interactions: sp.spmatrix, follows: Any = None) -> WeightedItemKNN:
        self.train_ = sp.csr_matrix(interactions, dtype=float)
        self.seen_ = sp.csr_matrix(self.history if self.history is not None else interactions)
        return self

    def recommend(self, users: np.ndarray, k: int) -> np.ndarray:
        return item_knn_topk(self.train_, np.asarray(users), k, exclude=self.seen_)


def holdout_latest(interactions: sp.spmatrix, timestamps: sp.spmatrix | None, real: np.ndarray, *, min_engagements: int = 5, seed: int = 0):
    """``(train, train_times, heldout)``: each real account with ``min_engagements`` or more loses
    its latest engagement (a seeded random one without times) to ``heldout``."""
    R = sp.csr_matrix(interactions, dtype=float)
    R.sum_duplicates()
    R.sort_indices()
    T = None
    if timestamps is not None:
        T = sp.csr_matrix(timestamps, dtype=float)
        T.sum_duplicates()
        T.sort_indices()
        if T.shape != R.shape or not np.array_equal(T.indptr, R.indptr) or not np.array_equal(T.indices, R.indices):
            raise DataValidationError("timestamps must hold a time for exactly the stored interactions")
    rng = np.random.default_rng(seed)
    n_per = np.diff(R.indptr)
    rows = np.repeat(np.arange(R.shape[0]), n_per)
    key = T.data if T is not None else rng.random(R.nnz)
    # per row: position of the largest key (latest engagement), vectorized with a lexsort
    order = np.lexsort((key, rows))
    last = np.cumsum(n_per) - 1
    eligible = np.asarray(real, dtype=bool) & (n_per >= min_engagements)
    held = np.zeros(R.nnz, bool)
    held[order[last[eligible]]] = True

    def part(M: sp.csr_matrix, mask: np.ndarray) -> sp.csr_matrix:
        return sp.csr_matrix((M.data[mask], (rows[mask], R.indices[mask])), shape=R.shape)

    return part(R, ~held), (part(T, ~held) if T is not None else None), part(R, held)


def _factory(recommender: str | Callable[[], Any], history: sp.csr_matrix, seed: int) -> tuple[Callable[[], Any], bool]:
    """A fresh-recommender factory, and whether it honours weights."""
    if callable(recommender):
        return recommender, False
    if recommender == "weighted-item-knn":
        return (lambda: WeightedItemKNN(history)), True
    from mlsiege.targets.recommenders import make_recommender

    make_recommender(recommender, seed=seed)  # raises ConfigError naming the valid ones
    return (lambda: make_recommender(recommender, seed=seed)), False


def _binarize_weights(M: sp.csr_matrix, original: sp.csr_matrix) -> sp.csr_matrix:
    """Keep the engagements whose weight (``M`` relative to ``original``) is at least one half."""
    inverse = sp.csr_matrix(original, dtype=float, copy=True)
    inverse.data = 1.0 / np.where(inverse.data != 0, inverse.data, np.inf)
    kept = sp.csr_matrix(sp.csr_matrix(M, dtype=float).multiply(inverse))
    kept.data = np.where(kept.data >= MIN_WEIGHT - 1e-12, 1.0, 0.0)
    kept.eliminate_zeros()
    return kept


def measure_mitigation(
    interactions: sp.spmatrix,
    *,
    timestamps: sp.spmatrix | None = None,
    follows: sp.spmatrix | None = None,
    is_sybil: np.ndarray,
    targets: np.ndarray,
    audience: np.ndarray,
    mitigation: str = "retrain_without_flagged",
    detector: Callable[..., Any] | None = None,
    flagged: np.ndarray | None = None,
    threshold: float | None = None,
    recommender: str | Callable[[], Any] = "weighted-item-knn",
    k: int = 50,
    n_util: int = 1000,
    seed: int = 0,
) -> MitigationResult:
    """Exposure of ``targets`` and real users' utility, attacked vs mitigated (module docstring).

    Parameters
    ----------
    interactions, timestamps, follows
        The attacked log in the ``reco_defense`` convention (:mod:`mlsiege.checks.reco_defense`).
    is_sybil
        Bool per account row: the truth, used for the clean baseline and the flag counts only.
    targets
        Item columns the campaign pushes.
    audience
        Real account rows whose exposure counts (row ids, or a bool mask over accounts).
    mitigation
        One of :data:`MITIGATIONS`.
    detector, flagged, threshold
        For ``retrain_without_flagged``: either a detector of the ``reco_defense`` family, run on
        the training part of the log (``threshold`` passed to it), or a ``flagged`` bool mask.
    recommender
        ``"weighted-item-knn"``, a :func:`~mlsiege.targets.recommenders.make_recommender` name,
        or a zero-argument factory.
    k, n_util, seed
        Top-``k`` for exposure and recall; real users sampled (seeded) for utility.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> r = measure_mitigation(p.interactions, timestamps=p.timestamps, is_sybil=p.is_sybil,
    ...                        targets=p.targets, audience=p.audience, flagged=p.is_sybil)
    >>> r.sybils_flagged == int(p.is_sybil.sum()), r.real_flagged
    (True, 0)
    """
    started = time.perf_counter()
    if mitigation not in MITIGATIONS:
        raise ConfigError(f"unknown mitigation {mitigation!r}; choose one of {', '.join(MITIGATIONS)}")
    if k < 1 or n_util < 1:
        raise ConfigError(f"k and n_util must be >= 1, got {k}, {n_util}")
    R = sp.csr_matrix(interactions)
    n_acc = R.shape[0]
    sybil = np.asarray(is_sybil, dtype=bool)
    if sybil.shape != (n_acc,):
        raise DataValidationError(f"is_sybil has shape {sybil.shape}, expected ({n_acc},)")
    targets = np.atleast_1d(np.asarray(targets, dtype=np.int64))
    audience = np.asarray(audience)
    aud = np.flatnonzero(audience) if audience.dtype == bool else audience.astype(np.int64)
    real = ~sybil
    train, train_t, heldout = holdout_latest(R, timestamps, real, seed=seed)
    aud = aud[real[aud]]
    if targets.size:
        aud = aud[np.asarray(train[aud][:, targets].sum(axis=1)).ravel() == 0]
    rng = np.random.default_rng(seed)
    util_users = np.flatnonzero(real & (np.diff(heldout.indptr) > 0))
    util_users = np.sort(rng.choice(util_users, min(n_util, util_users.size), replace=False))
    make, weighted = _factory(recommender, train, seed)

    def outcome(M: sp.csr_matrix) -> tuple[float, float]:
        model = make().fit(M if weighted else _binarize_weights(M, train), follows)
        exposure = 0.0
        if targets.size and aud.size:
            exposure = hit_ratio_at_k(np.asarray(model.recommend(aud, k)), targets, train, aud, k=k)
        util = recall_at_k(np.asarray(model.recommend(util_users, k)), heldout, util_users, k=k) if util_users.size else 0.0
        return exposure, util

    exp_att, util_att = outcome(train)
    exp_clean, _ = outcome(without_accounts(train, real))
    removed = np.zeros(n_acc, bool)
    config: dict[str, Any] = {"mitigation": mitigation, "recommender": recommender if isinstance(recommender, str) else getattr(recommender, "__name__", "factory"), "k": k, "seed": seed}
    if mitigation == "none":
        M = train
    elif mitigation == "retrain_without_flagged":
        if flagged is None:
            if detector is None:
                raise ConfigError("retrain_without_flagged needs a detector or a flagged mask")
            res = detector(train, timestamps=train_t, follows=follows, seed=seed, threshold=threshold)
            flagged = res.flagged
            config["detector"] = res.defense
        removed = np.asarray(flagged, dtype=bool)
        if removed.shape != (n_acc,):
            raise DataValidationError(f"flagged has shape {removed.shape}, expected ({n_acc},)")
        M = without_accounts(train, ~removed)
    elif mitigation == "trust_weighted":
        if follows is None:
            raise DataValidationError("trust_weighted needs the follow graph (follows)")
        M, w = trust_weighted(train, follows)
        removed = w < MIN_WEIGHT
    else:
        if train_t is None:
            raise DataValidationError("cohort_caps needs timestamps (accounts' join times)")
        M, w = cap_cohort_influence(train, train_t)
        removed = w < MIN_WEIGHT
    exp_mit, util_mit = outcome(M)
    gained = exp_att - exp_clean
    return MitigationResult(
        mitigation=mitigation,
        exposure_clean=float(exp_clean),
        exposure_attacked=float(exp_att),
        exposure_mitigated=float(exp_mit),
        exposure_reduction=float((exp_att - exp_mit) / exp_att) if exp_att > 0 else 0.0,
        excess_exposure_removed=float((exp_att - exp_mit) / gained) if gained > 0 else None,
        utility_attacked=float(util_att),
        utility_mitigated=float(util_mit),
        utility_loss=float((util_att - util_mit) / util_att) if util_att > 0 else 0.0,
        sybils_flagged=int((removed & sybil).sum()),
        real_flagged=int((removed & real).sum()),
        sybils=int(sybil.sum()),
        audience_scored=int(aud.size),
        users_scored=int(util_users.size),
        k=k,
        seconds=time.perf_counter() - started,
        config=config,
    )
