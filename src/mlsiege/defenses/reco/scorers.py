"""Profile-statistics detectors: PCA shilling detection and combined per-account scorers."""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import svds

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.flagging import account_result
from mlsiege.defenses.reco.profiles import account_features, fisher_combine
from mlsiege.defenses.reco.synchrony import DAY, fresh_crowd_sync, slot_table
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["PcaConfig", "ProfileConfig", "coordination_scorer", "profile_scorer_chirita2005", "shilling_pca_mehta2007"]


@dataclass(frozen=True)
class PcaConfig:
    """``components`` principal components; the ``flag_fraction`` lowest-loading accounts are flagged."""

    components: int = 3
    flag_fraction: float = 0.01

    def __post_init__(self) -> None:
        if self.components < 1 or not 0 < self.flag_fraction < 1:
            raise ConfigError(f"PCA needs components >= 1 and 0 < flag_fraction < 1; got {self}")


def shilling_pca_mehta2007(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """PCA VarSelect shilling detection (Mehta and Nejdl 2007).

    B. Mehta, W. Nejdl, "Unsupervised strategies for shilling detection and robust
    collaborative filtering", User Modeling and User-Adapted Interaction 19, 2009 (first
    presented 2007). Ratings are z-scored per account and accounts treated as the variables of a
    PCA over items; shilling profiles, highly correlated with each other and poorly with everyone
    else, load least on the leading components. Score: ``1 - (loading mass / max loading mass)``.

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
    k = min(config.components, min(Z.shape) - 1)
    v0 = np.random.default_rng(seed).uniform(-1, 1, min(Z.shape))
    U, _, _ = svds(Z, k=k, v0=v0)
    mass = (U**2).sum(axis=1)
    scores = 1.0 - mass / max(mass.max(), 1e-12)
    n_flag = max(1, int(round(config.flag_fraction * eng.n_users)))
    flagged = np.zeros(eng.n_users, bool)
    flagged[np.argsort(-scores, kind="stable")[:n_flag]] = True
    return account_result("shilling_pca_mehta2007", scores, flagged, config=asdict(config), seed=seed, started=started, threshold=threshold)


@dataclass(frozen=True)
class ProfileConfig:
    """Options of the per-account scorers.

    ``features`` maps a feature of :func:`~mlsiege.defenses.reco.profiles.account_features` to
    True when higher is more suspicious; ``default_threshold`` (nats) applies when no threshold
    from a false-positive budget is given. Synchrony uses ``window``, ``min_accounts``,
    ``fresh_window`` (see :func:`~mlsiege.defenses.reco.synchrony.fresh_crowd_sync`);
    ``profile_weight`` scales the profile terms inside :func:`coordination_scorer`.
    """

    features: tuple[tuple[str, bool], ...] = (("rating_deviation", True), ("burstiness", True), ("account_age", False))
    default_threshold: float = 20.0
    profile_weight: float = 0.3
    window: float = DAY
    min_accounts: int = 5
    fresh_window: float = 7 * DAY

    def __post_init__(self) -> None:
        known = {"degree", "rating_deviation", "account_age", "burstiness", "sync", "age_at_sync"}
        bad = [f for f, _ in self.features if f not in known]
        if bad:
            raise ConfigError(f"unknown profile feature(s) {bad}; known: {sorted(known)}")
        if self.window <= 0 or self.fresh_window <= 0 or self.min_accounts < 2 or self.profile_weight < 0:
            raise ConfigError(f"profile scorer needs window > 0, fresh_window > 0, min_accounts >= 2; got {self}")


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
    """Fresh accounts acting in lockstep, plus profile statistics, in one score (nats).

    Combines the lockstep evidence of CopyCatch (Beutel et al. 2013) with the account-age and
    rating-deviation signals of profile detectors (Chirita et al. 2005): the main term is
    ``ln(10) * fresh_crowd_sync`` (a slot's capped Poisson surprise, weighted by how many of its
    accounts were days old when they acted, and by the account's own age there, see
    :func:`~mlsiege.defenses.reco.synchrony.fresh_crowd_sync`), to which the Fisher terms of the
    profile ``features`` are added, times ``profile_weight``. Fan communities and friends are synchronized but old; a
    campaign's accounts, however well they mimic the audience's tastes, are created just before
    they act. Groups: the account's (item, window) slot of strongest evidence.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, mimicry=True, seed=1)
    >>> res = coordination_scorer(p.interactions, timestamps=p.timestamps)
    >>> bool(res.flagged[p.is_sybil].all())
    True
    """
    started = time.perf_counter()
    config = ProfileConfig(**options)
    eng = as_engagements(interactions, timestamps)
    table = slot_table(eng, config.window)
    fresh = fresh_crowd_sync(eng, table, fresh_window=config.fresh_window, min_accounts=config.min_accounts)
    feats = account_features(eng, window=config.window, min_accounts=config.min_accounts)
    scores = np.log(10.0) * fresh + config.profile_weight * fisher_combine(feats, dict(config.features))
    # group = the item the account's strongest synchronized engagement touched
    best = np.where(table.crowd[0] >= config.min_accounts, table.surprise[0], 0.0)
    order = np.lexsort((-best, eng.user))
    firsts = np.unique(eng.user[order], return_index=True)[1]
    groups = np.full(eng.n_users, -1)
    groups[eng.user[order][firsts]] = eng.item[order][firsts]
    return account_result(
        "coordination_scorer", scores, scores > config.default_threshold, groups=groups, config=asdict(config), seed=seed,
        started=started, threshold=threshold, fresh_sync_max=float(fresh.max()),
    )
