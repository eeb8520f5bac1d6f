"""Profile-statistics detectors: PCA shilling detection and combined per-account scorers."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from mlsiege.defenses.reco.cohort_crowds import cohort_lockstep
from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.flagging import (
    account_result,
    empirical_null_pvalues,
    robust_z,
    significant,
)
from mlsiege.defenses.reco.fresh_crowds import fresh_lockstep
from mlsiege.defenses.reco.profiles import account_features, fisher_combine
from mlsiege.defenses.reco.synchrony import DAY
from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.results import DefenseResult

__all__ = [
    "CoordinationConfig",
    "PcaConfig",
    "ProfileConfig",
    "coordination_scorer",
    "profile_scorer_chirita2005",
    "shilling_pca_mehta2007",
]


@dataclass(frozen=True)
class PcaConfig:
    """``components`` principal components; ``alpha`` family-wise error over the accounts.

    ``flag_fraction`` (optional) restores the literature's rule: flag exactly that share of the
    lowest-loading accounts (the PCA-VarSelect anchor of ``benchmarks/reco_detection.py`` uses
    it with the true attack size). Left ``None``, an account is flagged when its loading mass is
    significantly low against the log's empirical null.
    """

    components: int = 3
    alpha: float = 0.01
    flag_fraction: float | None = None

    def __post_init__(self) -> None:
        if self.components < 1 or not 0 < self.alpha < 1 or (self.flag_fraction is not None and not 0 < self.flag_fraction < 1):
            raise ConfigError(f"PCA needs components >= 1, 0 < alpha < 1 and 0 < flag_fraction < 1 if given; got {self}")


def shilling_pca_mehta2007(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """PCA VarSelect shilling detection (Mehta and Nejdl 2007).

    B. Mehta, W. Nejdl, "Unsupervised strategies for shilling detection and robust
    collaborative filtering", User Modeling and User-Adapted Interaction 19, 2009 (first
    presented 2007). Ratings are z-scored per account and accounts treated as the variables of a
    PCA over items; shilling profiles, highly correlated with each other and poorly with everyone
    else, load least on the leading components. Score: ``1 - (loading mass / max loading mass)``.
    Flags: the accounts whose log loading mass (conditioned on profile length) is significantly
    low under the log's empirical null, Bonferroni at ``alpha``; or, with ``flag_fraction``, the
    paper's fixed share of lowest loaders.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> shilling_pca_mehta2007(p.interactions).scores.shape
    (309,)
    """
    started = time.perf_counter()
    config = PcaConfig(**options)
    eng = as_engagements(interactions)
    n_u = np.bincount(eng.user, minlength=eng.n_users).astype(float)
    mean = np.bincount(eng.user, weights=eng.value, minlength=eng.n_users) / np.maximum(n_u, 1)
    sq = np.bincount(eng.user, weights=eng.value**2, minlength=eng.n_users) / np.maximum(n_u, 1)
    std = np.sqrt(np.maximum(sq - mean**2, 0.0))
    z = (eng.value - mean[eng.user]) / np.where(std[eng.user] > 0, std[eng.user], 1.0)
    Z = sp.csr_matrix((z, (eng.user, eng.item)), shape=(eng.n_users, eng.n_items))
    Z.eliminate_zeros()
    if Z.nnz == 0 or min(Z.shape) < 2:
        # every account gives all its items the same value (an implicit or single-valued log):
        # there is no rating pattern for the accounts to correlate on (ARPACK would fail on it)
        raise DataValidationError("shilling_pca_mehta2007 needs explicit ratings that vary within accounts; "
                                  "every account here rates all its items alike (an implicit log?): use a detector for implicit logs")
    k = min(config.components, min(Z.shape) - 1)
    v0 = np.random.default_rng(seed).uniform(-1, 1, min(Z.shape))
    U, _, _ = svds(Z, k=k, v0=v0)
    mass = (U**2).sum(axis=1)
    scores = 1.0 - mass / max(mass.max(), 1e-12)
    flagged = np.zeros(eng.n_users, bool)
    if config.flag_fraction is not None:
        flagged[np.argsort(-scores, kind="stable")[: max(1, int(round(config.flag_fraction * eng.n_users)))]] = True
    else:
        # low mass is suspicious; log mass is closer to normal, and longer profiles load more
        z = -robust_z(np.log(np.maximum(mass, 1e-300)), n_u, power=0.0)
        flagged = significant(empirical_null_pvalues(z), alpha=config.alpha)
    return account_result("shilling_pca_mehta2007", scores, flagged, config=asdict(config), seed=seed, started=started, threshold=threshold)


@dataclass(frozen=True)
class ProfileConfig:
    """Options of the per-account scorers.

    ``features`` maps a feature of :func:`~mlsiege.defenses.reco.profiles.account_features` to
    True when higher is more suspicious; ``default_threshold`` (nats) applies when no threshold
    from a false-positive budget is given. The ``sync`` features use ``window`` and
    ``min_accounts`` (see :mod:`~mlsiege.defenses.reco.synchrony`).
    """

    features: tuple[tuple[str, bool], ...] = (("rating_deviation", True), ("burstiness", True), ("account_age", False))
    default_threshold: float = 20.0
    window: float = DAY
    min_accounts: int = 5

    def __post_init__(self) -> None:
        _check_features(self.features)
        if self.window <= 0 or self.min_accounts < 2:
            raise ConfigError(f"profile scorer needs window > 0, min_accounts >= 2; got {self}")


def _check_features(features: tuple[tuple[str, bool], ...]) -> None:
    known = {"degree", "rating_deviation", "account_age", "burstiness", "sync", "age_at_sync"}
    bad = [f for f, _ in features if f not in known]
    if bad:
        raise ConfigError(f"unknown profile feature(s) {bad}; known: {sorted(known)}")


@dataclass(frozen=True)
class CoordinationConfig:
    """Options of :func:`coordination_scorer`.

    Fresh lockstep (see :func:`~mlsiege.defenses.reco.fresh_crowds.fresh_lockstep`): ``window``
    (seconds per slot), ``fresh_window`` (an account is fresh up to half of it after its first
    engagement, not at all after it), ``min_accounts`` (fresh accounts a slot needs to be
    tested), ``alpha`` (family-wise error level over all slots tested), ``cap`` (``-log10``
    evidence bound), ``baseline`` (running-median span of the platform activity). Profile
    ``features`` (as in :class:`ProfileConfig`) add ``profile_weight`` times their Fisher score
    to accounts with evidence only. ``default_threshold`` (nats): the own rule when no threshold
    from a false-positive budget is given; 0 flags every account a significant fresh crowd
    explains.
    """

    features: tuple[tuple[str, bool], ...] = (("rating_deviation", True), ("burstiness", True), ("account_age", False))
    default_threshold: float = 0.0
    profile_weight: float = 0.3
    window: float = DAY
    min_accounts: int = 5
    fresh_window: float = 7 * DAY
    alpha: float = 0.01
    cap: float = 20.0
    baseline: float = 15 * DAY
    min_share: float = 0.5
    cohorts: bool = True
    cohort_window: float = 3 * DAY
    settle: float = 1 * DAY
    censor: float = 30 * DAY

    def __post_init__(self) -> None:
        _check_features(self.features)
        if min(self.cohort_window, self.settle, self.censor) <= 0 or not 0 <= self.min_share <= 1:
            raise ConfigError(f"coordination scorer needs cohort_window, settle, censor > 0 and 0 <= min_share <= 1; got {self}")
        if self.window <= 0 or self.fresh_window <= 0 or self.baseline <= 0 or self.min_accounts < 2 or self.profile_weight < 0:
            raise ConfigError(f"coordination scorer needs window, fresh_window, baseline > 0, min_accounts >= 2, profile_weight >= 0; got {self}")
        if not 0 < self.alpha <= 1 or self.cap <= 0:
            raise ConfigError(f"coordination scorer needs 0 < alpha <= 1 and cap > 0; got {self}")


def profile_scorer_chirita2005(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Per-account profile statistics combined by Fisher's method.

    P.-A. Chirita, W. Nejdl, C. Zamfir, "Preventing Shilling Attacks in Online Recommender
    Systems", WIDM 2005 (rating deviation from mean agreement), with account age and burstiness
    as used by later profile classifiers. Each feature becomes the share of accounts at least as
    extreme; the score is ``-sum log p`` (R. A. Fisher, 1925). Set the threshold from a
    false-positive budget on real accounts (:func:`~mlsiege.defenses.reco.flagging.fpr_threshold`).

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> profile_scorer_chirita2005(p.interactions, timestamps=p.timestamps).scores.shape
    (309,)
    """
    started = time.perf_counter()
    config = ProfileConfig(**options)
    eng = as_engagements(interactions, timestamps)
    feats = account_features(eng, window=config.window, min_accounts=config.min_accounts)
    scores = fisher_combine(feats, dict(config.features))
    return account_result("profile_scorer_chirita2005", scores, scores > config.default_threshold, config=asdict(config), seed=seed, started=started, threshold=threshold)


def coordination_scorer(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Fresh accounts, or accounts that joined together, acting in lockstep, in nats.

    Combines the lockstep evidence of CopyCatch (Beutel et al. 2013) with the account-age
    signal of profile detectors (Chirita et al. 2005). The main term is ``ln(10)`` times the
    larger of two evidences: that of
    :func:`~mlsiege.defenses.reco.cohort_crowds.cohort_lockstep` (an item pushed by accounts
    of one join cohort long after they joined: aged accounts, slow drips), and that of
    :func:`~mlsiege.defenses.reco.fresh_crowds.fresh_lockstep`: the
    Bonferroni-adjusted surprise of the crowd of *fresh* accounts that claimed the account, its
    expectation set by the item's rate and the platform's activity in that window (Kleinberg
    2002), each account explained once, by its most significant crowd (as FRAUDAR and D-Cube
    take out one block at a time). Accounts no significant crowd explains score 0; the others
    gain ``profile_weight`` times the Fisher score of the profile ``features``. Fan communities
    and friends are synchronized but old; newcomers who happen to pick the same popular item on
    the same day are not significant once the number of slots is accounted for; a real
    newcomer sharing a campaign's filler item is not blamed for the campaign's accounts, which
    their own target push explains. Groups: the item of the crowd that explained the account.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, mimicry=True, seed=1)
    >>> res = coordination_scorer(p.interactions, timestamps=p.timestamps)
    >>> bool(res.flagged[p.is_sybil].all()), int(res.flagged[~p.is_sybil].sum())
    (True, 0)
    """
    started = time.perf_counter()
    config = CoordinationConfig(**options)
    eng = as_engagements(interactions, timestamps)
    fresh = fresh_lockstep(
        eng, window=config.window, fresh_window=config.fresh_window, min_accounts=config.min_accounts,
        alpha=config.alpha, cap=config.cap, baseline=config.baseline, min_share=config.min_share,
    )
    evidence, crowd_item, cohort_slots = fresh.evidence, fresh.item, 0
    if config.cohorts:
        cohort = cohort_lockstep(
            eng, cohort_window=config.cohort_window, settle=config.settle, censor=config.censor, baseline=config.baseline,
            min_accounts=config.min_accounts, min_share=config.min_share, alpha=config.alpha, cap=config.cap,
        )
        stronger = cohort.evidence > evidence
        evidence = np.where(stronger, cohort.evidence, evidence)
        crowd_item = np.where(stronger, cohort.item, crowd_item)
        cohort_slots = cohort.significant_slots
    need_sync = any(name in ("sync", "age_at_sync") for name, _ in config.features)
    feats = account_features(eng, window=config.window, min_accounts=config.min_accounts, sync=need_sync)
    explained = evidence > 0
    scores = np.log(10.0) * evidence + np.where(explained, config.profile_weight * fisher_combine(feats, dict(config.features)), 0.0)
    groups = crowd_item  # the item of the crowd that explained the account; -1 for the others (score 0)
    return account_result(
        "coordination_scorer", scores, scores > config.default_threshold, groups=groups, config=asdict(config), seed=seed,
        started=started, threshold=threshold, fresh_evidence_max=float(fresh.evidence.max()), explained=int(explained.sum()),
        significant_crowds=fresh.significant_slots, slots_tested=fresh.n_slots, significant_cohort_slots=cohort_slots,
    )
