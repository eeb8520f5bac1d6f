"""Target-centred group detection: items pushed (or nuked) by a group of unusual profiles.

A shilling campaign is a *group* of profiles that agree on a target item (all rate it at the
top of the scale to push it, at the bottom to nuke it) and are individually unremarkable enough
to pass a per-profile test. A heavy or eccentric real rater is an outlier alone; a campaign is
many unusual profiles giving one item the same extreme rating. So, as in target item analysis
(Zhou, Wen, Xiong, Gao, Zeng, "SVM-TIA: a shilling attack detection method based on SVM and
target item analysis in recommender systems", Neurocomputing 2016) and the group view of
Mehta & Nejdl (2009), the detector works in three steps, each calibrated on the log itself:

1. **Profile evidence**: every account gets a robust z-score combining profile statistics of
   :mod:`~mlsiege.defenses.reco.rating_stats` (``popularity`` and ``rdma`` by default),
   conditioned on the profile's length, so heavy real raters are compared with heavy real raters.
2. **Target items**: for each item and extreme rating, the group of accounts that gave it is
   tested for an excess of *elevated* profiles (z above ``elevated``): a binomial tail against
   the log's own share of elevated accounts, Bonferroni over every group tested. An attack-free
   log's items hold their share of eccentric raters and pass no test.
3. **The group behind it**: inside each significant group, members are flagged down to the
   lowest z at which the group's count still exceeds what the log's null (the accounts outside
   every significant group) predicts for a group of that size by ``1 / member_fdr`` (a
   Benjamini-Hochberg-style step within the group). Real raters of a target are kept unless
   their own profile is as unusual as the campaign's.

Groups: each flagged account carries the item column of the most significant group that flagged
it. Without explicit ratings (one value only) the group of an item is everyone who engaged it.

Limits (see docs/reco-defenses.md): a campaign whose profiles look like real ones in every
statistic (fillers drawn by popularity, ratings copied from real users) raises no profile
evidence and is missed; fewer than ``min_group`` accounts per target are never tested.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import norm

from mlsiege.defenses.reco.engagement import Engagements, as_engagements
from mlsiege.defenses.reco.flagging import account_result
from mlsiege.defenses.reco.rating_stats import FEATURES, oriented_z, profile_statistics
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["TargetGroupConfig", "profile_evidence", "target_groups_zhou2016"]


@dataclass(frozen=True)
class TargetGroupConfig:
    """Options of :func:`target_groups_zhou2016`.

    ``features`` sets of profile statistics, each combined by Stouffer's sum of z over
    ``sqrt(len)``; an account's evidence is the largest over the sets (popularity and rating
    deviation catch random and average fillers; neighbour similarity and rating deviation catch
    bandwagon profiles that share popular items);
    ``elevated`` z above which a profile counts as elevated in the group test; ``alpha``
    family-wise error over the groups tested; ``min_group`` smallest group tested;
    ``member_fdr`` the within-group false-discovery level.
    """

    features: tuple[tuple[str, ...], ...] = (("popularity", "rdma"), ("degsim", "rdma"))
    elevated: float = 2.0
    alpha: float = 0.01
    min_group: int = 5
    member_fdr: float = 0.1
    max_groups: int = 100

    def __post_init__(self) -> None:
        bad = [f for fs in self.features for f in fs if f not in FEATURES]
        if bad or not self.features:
            raise ConfigError(f"unknown profile statistic(s) {bad}; choose from {', '.join(FEATURES)}")
        if not 0 < self.alpha < 1 or not 0 < self.member_fdr < 1 or self.min_group < 2:
            raise ConfigError(f"target groups need 0 < alpha < 1, 0 < member_fdr < 1, min_group >= 2; got {self}")


def profile_evidence(eng: Engagements, features: tuple[tuple[str, ...], ...] = (("popularity", "rdma"),), *, seed: int = 0) -> np.ndarray:
    """Largest Stouffer combination over the sets of oriented robust z-scores (NaN counts as 0)."""
    names = {f for fs in features for f in fs}
    stats = profile_statistics(eng, seed=seed, include_degsim="degsim" in names)
    z = {f: np.nan_to_num(oriented_z(eng, stats[f], f), nan=0.0) for f in names}
    return np.max([sum(z[f] for f in fs) / np.sqrt(len(fs)) for fs in features], axis=0)


def _groups(eng: Engagements, min_group: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Engagements at an extreme rating in groups of at least ``min_group``: ``(rows, group ids, extremes)``.

    A group id is ``item * len(extremes) + k`` for the ``k``-th extreme value (the top of the
    scale, then the bottom; implicit logs have only one value, so one group per item).
    """
    values = np.unique(eng.value)
    extremes = [values.max()] if values.size == 1 else [values.max(), values.min()]
    rows = np.zeros(0, np.int64)
    gid = np.zeros(0, np.int64)
    keys = []
    for k, v in enumerate(extremes):
        at = np.flatnonzero(eng.value == v)
        rows = np.r_[rows, at]
        gid = np.r_[gid, eng.item[at] * len(extremes) + k]
        keys.append(v)
    size = np.bincount(gid, minlength=eng.n_items * len(extremes))
    keep = size[gid] >= min_group
    return rows[keep], gid[keep], np.asarray(keys, dtype=float)


def _mean_logp(total: np.ndarray, size: np.ndarray, value: np.ndarray, spread: float, min_size: int = 20) -> np.ndarray:
    """log p of each group's mean profile evidence against the groups of the same extreme rating.

    A random-effects null: a group's mean varies by ``spread**2 / size`` (its members) plus
    ``tau**2`` (real groups differ: taste, harsh or lenient raters), with the centre and ``tau``
    estimated robustly (median, MAD) over all groups of that rating. So a large group is not
    significant for a small shift that real groups of its kind also show.
    """
    logp = np.zeros(total.size)
    mean = total / np.maximum(size, 1)
    for v in np.unique(value):
        g = np.flatnonzero(value == v)
        if g.size < 5:
            continue
        centre = float(np.median(mean[g]))
        mad = 1.4826 * float(np.median(np.abs(mean[g] - centre)))
        tau2 = max(mad**2 - float(np.median(spread**2 / size[g])), 0.0)
        logp[g] = norm.logsf((mean[g] - centre) / np.sqrt(spread**2 / size[g] + tau2))
    # a mean of a handful of members is far from normal: small groups are left to the count test
    return np.where(size >= min_size, logp, 0.0)


def _group_logp(hits: np.ndarray, size: np.ndarray, value: np.ndarray, overall: float, elevated: float, bins: int = 5) -> np.ndarray:
    """log p of each group's elevated count under a beta-binomial fitted to groups like it.

    Groups are compared with groups of the same extreme rating and similar size (``bins``
    quantile bins of ``log size``): harsh raters make 1-star groups deviate more, eccentric
    raters fill the groups of obscure items. Within a bin the null share is the pooled share of
    the *other* groups (leave-one-out) and the overdispersion the upper quartile of the squared
    Pearson residuals (taste makes raters of one item alike, and a flop's 1-star raters are
    mostly harsh ones), both robust to a few pushed items.
    """
    from scipy.stats import betabinom

    floor = float(norm.sf(elevated))
    logp = np.zeros(hits.size)
    for v in np.unique(value):
        at = np.flatnonzero(value == v)
        edges = np.quantile(np.log(size[at]), np.linspace(0, 1, bins + 1)[1:-1])
        b = np.searchsorted(edges, np.log(size[at]), side="right")
        for k in np.unique(b):
            g = at[b == k]
            tot_h, tot_n = hits[g].sum(), size[g].sum()
            loo = (tot_h - hits[g]) / np.maximum(tot_n - size[g], 1)
            p0 = np.clip(np.where(tot_n - size[g] > 0, loo, overall), max(floor, 1e-6), 0.5)
            resid = (hits[g] - size[g] * p0) ** 2 / (size[g] * p0 * (1 - p0))
            phi = max(float(np.quantile(resid, 0.75)) / 1.323, 1.0)  # chi2(1) upper quartile is 1.323
            rho = np.clip((phi - 1) / np.maximum(size[g] - 1, 1), 1e-9, 0.5)
            a, bb = p0 * (1 / rho - 1), (1 - p0) * (1 / rho - 1)
            with np.errstate(invalid="ignore", divide="ignore"):
                lp = betabinom.logsf(hits[g] - 1, size[g], a, bb)
            # where the beta-binomial fails (underflow: nan or -inf) the overdispersed normal tail stands in
            excess = (hits[g] - size[g] * p0) / np.sqrt(size[g] * p0 * (1 - p0) * (1 + (size[g] - 1) * rho))
            logp[g] = np.where(np.isfinite(lp), lp, norm.logsf(excess))
    return logp


def _agreement(eng: Engagements, members: np.ndarray, item: int, at_value: np.ndarray, pop_share: np.ndarray, outside: np.ndarray, alpha: float) -> np.ndarray:
    """Per account, how much it shares the group's other agreed items, as a z against ``outside``.

    The group's agreed items are those a majority of its members give the same extreme rating,
    far more often than the log does (binomial tail, Bonferroni over items, lift >= 2), e.g. the
    popular items of a bandwagon attack; raters who merely share a taste (or harsh raters who
    all dislike the same flops) rarely agree on another item by a majority. Each account scores ``sum log(lift)`` over the agreed items it rated
    so; standardized by the mean and spread of the accounts outside every significant group.
    Zero for everyone when the group agrees on nothing else (random and average fillers).
    """
    from scipy.stats import binom

    mine = at_value & np.isin(eng.user, members)
    counts = np.bincount(eng.item[mine], minlength=eng.n_items)
    base = np.maximum(pop_share, 1.0 / max(int(outside.sum()), 1))
    logp = binom.logsf(counts - 1, members.size, base)
    lift = counts / members.size / base
    agreed = (logp + np.log(eng.n_items) < np.log(alpha)) & (lift >= 2.0) & (counts >= members.size / 2)
    agreed[item] = False
    if not agreed.any():
        return np.zeros(eng.n_users)
    weight = np.where(agreed, np.log(np.maximum(lift, 1.0)), 0.0)
    n_u = np.maximum(np.bincount(eng.user, minlength=eng.n_users), 1).astype(float)
    # per rating of the profile: a heavy rater meets the agreed items by sheer volume
    a = np.bincount(eng.user[at_value], weights=weight[eng.item[at_value]], minlength=eng.n_users) / n_u
    sd = float(a[outside].std()) or 1.0
    return (a - float(a[outside].mean())) / sd


def target_groups_zhou2016(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Flag the groups of unusual profiles behind pushed or nuked items (see the module docstring).

    Scores: the profile evidence z of every account (higher = more suspicious); flagged: members
    of a significant target group down to the group's own cut-off. Metrics name the target
    items found (columns), their group sizes and p-values. Needs no time.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> target_groups_zhou2016(p.interactions).scores.shape
    (309,)
    """
    started = time.perf_counter()
    config = TargetGroupConfig(**options)
    eng = as_engagements(interactions)
    z = profile_evidence(eng, config.features, seed=seed)
    n = eng.n_users
    active = np.bincount(eng.user, minlength=n) > 0
    elevated = z > config.elevated
    spread = 1.4826 * float(np.median(np.abs(z[active] - np.median(z[active])))) or 1.0
    rows, gid, extremes = _groups(eng, config.min_group)
    n_groups = int(np.unique(gid).size)
    share = float(elevated[active].mean())
    at_value = {k: eng.value == v for k, v in enumerate(extremes)}
    pop_share = {k: np.bincount(eng.item[m], minlength=eng.n_items) / max(int(active.sum()), 1) for k, m in at_value.items()}
    flagged = np.zeros(n, bool)
    group_of = np.full(n, -1)
    found: list[dict] = []
    done: set[int] = set()
    # greedy, as FRAUDAR and D-Cube take out one block at a time: the most significant group is
    # explained first, its flagged accounts leave every other group, and the rest are re-tested
    for _ in range(config.max_groups):
        left = ~flagged[eng.user[rows]]
        size = np.bincount(gid[left], minlength=gid.max() + 1 if gid.size else 0)
        hits = np.bincount(gid[left], weights=elevated[eng.user[rows[left]]].astype(float), minlength=size.size)
        tested = np.flatnonzero(size >= config.min_group)
        if tested.size == 0:
            break
        total = np.bincount(gid[left], weights=z[eng.user[rows[left]]], minlength=size.size)
        # two views of one question (more unusual members than groups like it hold), the stronger counts, Bonferroni x2
        logp = np.minimum(_group_logp(hits[tested], size[tested], tested % len(extremes), share, config.elevated),
                          _mean_logp(total[tested], size[tested], tested % len(extremes), spread, 4 * config.min_group)) + np.log(2.0)
        logp[np.isin(tested, list(done))] = 0.0
        passed = logp + np.log(max(n_groups, 1)) < np.log(config.alpha)
        if not passed.any():
            break
        # of the significant groups, the purest first: a campaign's target holds a larger share of
        # elevated profiles than the popular items it also rates (bandwagon), which real fans share
        best = int(np.flatnonzero(passed)[np.argmax((hits[tested] / size[tested])[passed])])
        g = int(tested[best])
        done.add(g)
        members = np.unique(eng.user[rows[(gid == g) & left]])
        item, k = divmod(g, len(extremes))
        outside = active & ~flagged
        outside[members] = False
        score = z + _agreement(eng, members, item, at_value[k], pop_share[k], outside, config.alpha)
        null_s = np.sort(score[outside])
        zm = np.sort(score[members])[::-1]
        # share of null accounts at least as extreme as each member
        surv = (null_s.size - np.searchsorted(null_s, zm, side="left")) / max(null_s.size, 1)
        ok = members.size * surv <= config.member_fdr * np.arange(1, zm.size + 1)
        if not ok.any():
            continue
        cut = zm[int(np.flatnonzero(ok).max())]
        chosen = members[score[members] >= cut]
        found.append({"item": int(item), "rating": float(extremes[k]), "group": int(members.size), "flagged": int(chosen.size),
                      "log10_p": round(max(float(logp[best]), -1e6) / np.log(10), 2), "cut": round(float(cut), 3)})
        group_of[chosen] = item
        flagged[chosen] = True
    scores = np.where(active, z, np.nan)
    scores = np.nan_to_num(scores, nan=float(np.nanmin(z)) if np.isfinite(z).any() else 0.0)
    return account_result(
        "target_groups_zhou2016", scores, flagged, groups=group_of, config=asdict(config), seed=seed, started=started,
        threshold=threshold, groups_tested=n_groups, elevated_share=round(share, 5), targets=found[:50],
    )
