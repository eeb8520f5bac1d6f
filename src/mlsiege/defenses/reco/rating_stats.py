"""Classic per-profile statistics of explicit-rating shilling detection, and one detector each.

Definitions (``r_ui`` the rating, ``r_i`` the item's mean, ``NR_i`` its number of ratings,
``N_u`` the profile's length, ``P_T`` the profile's items at its own maximum rating, the
presumed target, and ``P_F`` the others, the presumed fillers):

* ``rdma`` Rating Deviation from Mean Agreement, ``sum_i |r_ui - r_i| / NR_i / N_u``
  (Chirita, Nejdl, Zamfir, "Preventing shilling attacks in online recommender systems",
  WIDM 2005);
* ``wdma`` Weighted Degree of Agreement, ``sum_i |r_ui - r_i| / NR_i^2 / N_u``, and ``wda``
  Weighted Deviation from Mean Agreement, ``sum_i |r_ui - r_i| / NR_i`` (Williams, Mobasher,
  Burke, "Defending recommender systems: detection of profile injection attacks", SOCA 2007);
* ``length_var`` ``|N_u - mean N| / sum_v (N_v - mean N)^2`` (Burke, Mobasher, Williams,
  Bhaumik, "Classification features for attack detection in collaborative recommender
  systems", KDD 2006);
* ``mean_var`` ``sum_{j in P_F} (r_uj - r_j)^2 / |P_F|``: average-attack fillers sit on the item
  means, so *low* is suspicious (Burke et al. 2006);
* ``fmtd`` Filler Mean Target Difference, ``|mean_{P_T} r_ui - mean_{P_F} r_ui|`` (Burke et al. 2006);
* ``degsim`` mean Pearson similarity to the ``k`` nearest neighbours (Chirita et al. 2005),
  computed as the cosine of mean-centred profiles (Pearson over the union of items); on logs of
  more than ``reference_size`` accounts the neighbours are searched among a seeded sample of
  that many (a campaign keeps its share of the sample, so its members still find each other);
* ``popularity`` mean ``log NR_i`` over the profile: filler items drawn from the whole catalogue
  (the attack models of Lam & Riedl 2004 and Mobasher et al. 2007) are far less popular than
  what real users rate, so *low* is suspicious (item-popularity features as in Hao, Zhang,
  Zhang, "Multiview ensemble method for detecting shilling attacks in collaborative
  recommender systems", Security and Communication Networks 2018);
* ``tail_share`` the share of the profile's items in the less popular half of the catalogue
  (same source): unlike the mean, a few popular items (a bandwagon profile's) do not hide it.

Every detector here is :func:`profile_statistic` with one feature: the statistic is turned into a
robust z-score conditioned on the profile's length (so heavy real raters are compared with heavy
real raters, see :func:`~mlsiege.defenses.reco.flagging.robust_z`) and an account is flagged when
its z is significant under the log's empirical null after Bonferroni over the accounts
(:mod:`~mlsiege.defenses.reco.flagging`). None of them needs time.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import Engagements, as_engagements
from mlsiege.defenses.reco.flagging import (
    account_result,
    empirical_null_pvalues,
    robust_z,
    significant,
)
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = [
    "FEATURES",
    "ProfileStatConfig",
    "degsim_chirita2005",
    "fmtd_burke2006",
    "lengthvar_burke2006",
    "meanvar_burke2006",
    "popularity_hao2018",
    "profile_statistic",
    "profile_statistics",
    "rdma_chirita2005",
    "wda_williams2007",
    "wdma_williams2007",
]

#: feature -> (higher is suspicious, conditioned on profile length)
FEATURES: dict[str, tuple[bool, bool]] = {
    "rdma": (True, True),
    "wdma": (True, True),
    "wda": (True, True),
    "length_var": (True, False),
    "mean_var": (False, True),
    "fmtd": (True, True),
    "degsim": (True, True),
    "popularity": (False, True),
    "tail_share": (True, True),
}


def _per_user(eng: Engagements, weights: np.ndarray) -> np.ndarray:
    return np.bincount(eng.user, weights=weights, minlength=eng.n_users)


def _degsim(eng: Engagements, k: int, reference_size: int, seed: int) -> np.ndarray:
    """Mean cosine of mean-centred profiles to the ``k`` most similar (among a seeded sample)."""
    n_u = np.bincount(eng.user, minlength=eng.n_users).astype(float)
    mean_u = _per_user(eng, eng.value) / np.maximum(n_u, 1)
    c = eng.value - mean_u[eng.user]
    norm = np.sqrt(_per_user(eng, c * c))
    c = c / np.where(norm[eng.user] > 0, norm[eng.user], 1.0)
    X = sp.csr_matrix((c, (eng.user, eng.item)), shape=(eng.n_users, eng.n_items))
    ref = np.arange(eng.n_users)
    if eng.n_users > reference_size:
        ref = np.sort(np.random.default_rng(seed).choice(eng.n_users, reference_size, replace=False))
    R = X[ref].T.tocsc()
    out = np.zeros(eng.n_users)
    k_eff = max(1, min(k, ref.size - 1))
    step = max(1, 4_000_000 // max(ref.size, 1))
    for lo in range(0, eng.n_users, step):
        S = (X[lo : lo + step] @ R).toarray()
        rows = np.arange(lo, min(lo + step, eng.n_users))
        own = np.searchsorted(ref, rows)
        mine = (own < ref.size) & (ref[np.minimum(own, ref.size - 1)] == rows)
        S[np.flatnonzero(mine), own[mine]] = -np.inf  # not one's own neighbour
        top = -np.partition(-S, k_eff - 1, axis=1)[:, :k_eff]
        out[rows] = np.where(np.isfinite(top), top, 0.0).mean(axis=1)
    return out


def profile_statistics(eng: Engagements, *, k: int = 25, reference_size: int = 4_000, seed: int = 0, include_degsim: bool = True) -> dict[str, np.ndarray]:
    """Every statistic of the module docstring, one value per account (NaN: undefined)."""
    n = eng.n_users
    n_u = np.bincount(eng.user, minlength=n).astype(float)
    n_i = np.bincount(eng.item, minlength=eng.n_items).astype(float)
    mean_i = np.bincount(eng.item, weights=eng.value, minlength=eng.n_items) / np.maximum(n_i, 1)
    dev = np.abs(eng.value - mean_i[eng.item])
    has = n_u > 0
    safe = np.maximum(n_u, 1)
    out = {
        "rdma": np.where(has, _per_user(eng, dev / n_i[eng.item]) / safe, np.nan),
        "wdma": np.where(has, _per_user(eng, dev / n_i[eng.item] ** 2) / safe, np.nan),
        "wda": np.where(has, _per_user(eng, dev / n_i[eng.item]), np.nan),
        "popularity": np.where(has, _per_user(eng, np.log(n_i[eng.item])) / safe, np.nan),
    }
    rank = np.empty(eng.n_items)
    rank[np.argsort(n_i, kind="stable")] = np.arange(eng.n_items)
    tail = rank < eng.n_items / 2  # the less popular half of the items
    out["tail_share"] = np.where(has, _per_user(eng, tail[eng.item].astype(float)) / safe, np.nan)
    spread = n_u[has] - n_u[has].mean()
    out["length_var"] = np.where(has, np.abs(n_u - n_u[has].mean()) / max(float((spread**2).sum()), 1e-12), np.nan)
    top = np.full(n, -np.inf)
    np.maximum.at(top, eng.user, eng.value)
    is_t = eng.value == top[eng.user]
    n_t = _per_user(eng, is_t.astype(float))
    n_f = n_u - n_t
    sum_t = _per_user(eng, np.where(is_t, eng.value, 0.0))
    sum_f = _per_user(eng, np.where(is_t, 0.0, eng.value))
    with np.errstate(invalid="ignore", divide="ignore"):
        out["mean_var"] = np.where(n_f > 0, _per_user(eng, np.where(is_t, 0.0, (eng.value - mean_i[eng.item]) ** 2)) / n_f, np.nan)
        out["fmtd"] = np.where((n_f > 0) & (n_t > 0), np.abs(sum_t / n_t - sum_f / n_f), np.nan)
    out["degsim"] = _degsim(eng, k, reference_size, seed) if include_degsim else np.full(n, np.nan)
    return out


@dataclass(frozen=True)
class ProfileStatConfig:
    """Options of :func:`profile_statistic`.

    ``feature`` one of :data:`FEATURES`; ``alpha`` family-wise error over the accounts
    (Bonferroni on empirical-null p-values); ``k`` and ``reference_size`` for ``degsim``.
    """

    feature: str = "rdma"
    alpha: float = 0.01
    k: int = 25
    reference_size: int = 4_000

    def __post_init__(self) -> None:
        if self.feature not in FEATURES:
            raise ConfigError(f"unknown profile statistic {self.feature!r}; choose from {', '.join(FEATURES)}")
        if not 0 < self.alpha < 1 or self.k < 1 or self.reference_size < 2:
            raise ConfigError(f"profile statistic needs 0 < alpha < 1, k >= 1, reference_size >= 2; got {self}")


def oriented_z(eng: Engagements, values: np.ndarray, feature: str) -> np.ndarray:
    """The statistic as a robust z-score, higher = more suspicious (see :data:`FEATURES`)."""
    higher, by_length = FEATURES[feature]
    degree = np.bincount(eng.user, minlength=eng.n_users).astype(float) if by_length else None
    v = np.asarray(values, dtype=float)
    if feature in ("rdma", "wdma", "wda"):
        v = np.log(np.where(v > 0, v, np.nan))  # deviations weighted by 1/NR are log-normal-like
    z = robust_z(v, degree)
    return z if higher else -z


def profile_statistic(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """One classic profile statistic as a detector (see the module docstring for each source).

    Score: the robust z-score of the statistic (higher = more suspicious); flagged: significant
    under the log's empirical null, Bonferroni over the accounts at ``alpha``.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> profile_statistic(p.interactions, feature="popularity").scores.shape
    (309,)
    """
    started = time.perf_counter()
    config = ProfileStatConfig(**options)
    eng = as_engagements(interactions)
    feats = profile_statistics(eng, k=config.k, reference_size=config.reference_size, seed=seed, include_degsim=config.feature == "degsim")
    z = oriented_z(eng, feats[config.feature], config.feature)
    flagged = significant(empirical_null_pvalues(z), alpha=config.alpha)
    scores = np.nan_to_num(z, nan=-np.inf)
    scores = np.where(np.isfinite(scores), scores, np.nanmin(z) if np.isfinite(z).any() else 0.0)
    return account_result(f"profile_statistic:{config.feature}", scores, flagged, config=asdict(config), seed=seed, started=started, threshold=threshold)


def _named(feature: str, name: str, source: str):  # noqa: ANN202 - builds a recipe
    def recipe(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
        return profile_statistic(interactions, timestamps=timestamps, follows=follows, seed=seed, threshold=threshold, **{"feature": feature, **options})

    recipe.__name__ = recipe.__qualname__ = name
    recipe.__doc__ = f"""The ``{feature}`` profile statistic as a detector: {source}.

    Robust z-score conditioned on profile length, flagged when significant under the log's
    empirical null (Bonferroni over accounts); see :func:`profile_statistic`.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> {name}(p.interactions).scores.shape
    (309,)
    """
    return recipe


rdma_chirita2005 = _named("rdma", "rdma_chirita2005", "Chirita, Nejdl, Zamfir, WIDM 2005")
wdma_williams2007 = _named("wdma", "wdma_williams2007", "Williams, Mobasher, Burke, SOCA 2007")
wda_williams2007 = _named("wda", "wda_williams2007", "Williams, Mobasher, Burke, SOCA 2007")
lengthvar_burke2006 = _named("length_var", "lengthvar_burke2006", "Burke, Mobasher, Williams, Bhaumik, KDD 2006")
meanvar_burke2006 = _named("mean_var", "meanvar_burke2006", "Burke, Mobasher, Williams, Bhaumik, KDD 2006")
fmtd_burke2006 = _named("fmtd", "fmtd_burke2006", "Burke, Mobasher, Williams, Bhaumik, KDD 2006")
degsim_chirita2005 = _named("degsim", "degsim_chirita2005", "Chirita, Nejdl, Zamfir, WIDM 2005")
popularity_hao2018 = _named("popularity", "popularity_hao2018", "Hao, Zhang, Zhang, Security and Communication Networks 2018")
