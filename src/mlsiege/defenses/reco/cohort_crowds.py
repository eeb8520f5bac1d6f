"""Join cohorts in lockstep: accounts created together that later push the same item.

The evidence that survives *aged* sybil accounts and a *slow drip*. Accounts bought or made in
bulk are created together (a batch), so a campaign's accounts share a join cohort even when
they act months later and spread their pushes over weeks. A cohort is the accounts whose first
engagement falls in the same ``cohort_window`` (two offsets, 0 and 1/2, so a batch is never
split by a bucket boundary). The test, per (item, cohort) *slot*:

1. **Only settled engagements.** An account's engagements count from ``settle`` seconds after
   the end of its cohort's bucket: what new accounts do in their first days (onboarding:
   everyone rates the same classics at sign-up) is the fresh-crowd test's business
   (:mod:`~mlsiege.defenses.reco.fresh_crowds`), and a cohort's series then starts cleanly.
   Accounts first seen in the log's first ``censor`` seconds may predate the log: they belong
   to no cohort (they are never tested, but they are part of everyone's baseline).
2. **Null: the cohort's share of the platform's settled activity on the day.** If items were
   chosen independently of when an account joined, an engagement of the item on day ``b`` is by
   cohort ``c`` with probability ``share[b, c]``, the cohort's share of day ``b``'s settled
   engagements (a running mean over ``baseline`` seconds, so a push of a few days hardly raises
   its own baseline). The slot's expected count is the sum of that share over the item's
   settled engagements, its surprise ``-log10 P(Poisson >= count)`` (as for a term's share of
   each batch of a stream, Kleinberg 2002).
3. **Effect size and multiple testing.** A slot is tested when it holds ``min_accounts``
   accounts and, with the neighbouring cohorts' (a batch may straddle two buckets), makes up at
   least ``min_share`` of the item's settled engagements from a day before
   its first to a day after its last one (a pushed item's engagement is mostly the push; a
   cohort that merely likes a popular item is a small part of its audience); it counts when
   ``p * n_pairs < alpha`` (Bonferroni over every (item, cohort) pair with an engagement, both
   offsets: the floors chose which to test after looking), with evidence
   ``-log10(p * n_pairs / alpha)`` capped at ``cap``.
4. **Each account explained once**, by its most significant slot (greedy, as FRAUDAR and D-Cube
   peel one block at a time; Hooi et al. 2016, Shin et al. 2017).

Where it fails, by construction: accounts created one by one over months (no batch), and real
cohorts brought in together by one event who later favour one niche item (they are a cohort in
lockstep too; the effect-size floor and the null keep popular items out, not niche ones).

References
----------
J. Kleinberg, "Bursty and hierarchical structure in streams", KDD 2002.
A. Beutel et al., "CopyCatch: stopping group attacks by spotting lockstep behavior in social
networks", WWW 2013 (lockstep over (item, time); here over (item, join time)).
B. Hooi et al., "FRAUDAR: bounding graph fraud in the face of camouflage", KDD 2016.
"""

from __future__ import annotations

import heapq

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import Engagements
from mlsiege.defenses.reco.fresh_crowds import FreshEvidence
from mlsiege.defenses.reco.synchrony import DAY, log10_poisson_tail
from mlsiege.errors import DataValidationError

__all__ = ["account_span", "cohort_lockstep"]


def account_span(eng: Engagements) -> tuple[np.ndarray, np.ndarray]:
    """Per account: first and last engagement time (inf / -inf for accounts without any)."""
    first = np.full(eng.n_users, np.inf)
    last = np.full(eng.n_users, -np.inf)
    if eng.time is None or eng.time.size == 0:
        return first, last
    # engagements are sorted by user: one reduceat per account instead of a ufunc.at loop
    starts = np.flatnonzero(np.r_[True, eng.user[1:] != eng.user[:-1]])
    users = eng.user[starts]
    first[users] = np.minimum.reduceat(eng.time, starts)
    last[users] = np.maximum.reduceat(eng.time, starts)
    return first, last


def _running_mean(counts: np.ndarray, half: int, valid_from: np.ndarray | None = None) -> np.ndarray:
    """Centered mean over ``2 * half + 1`` rows of ``counts`` (rows = days), columns apart.

    With ``valid_from`` (one start row per column) rows before a column's start are neither
    averaged nor counted, so a series that begins at its onset is not diluted by zeros.
    """
    n = counts.shape[0]
    cum = np.concatenate([np.zeros((1,) + counts.shape[1:]), np.cumsum(counts, axis=0)], axis=0)
    lo = np.clip(np.arange(n) - half, 0, n)
    hi = np.clip(np.arange(n) + half + 1, 0, n)
    if valid_from is None:
        total = cum[hi] - cum[lo]
        width = (hi - lo).astype(float)
        return total / (width[:, None] if counts.ndim == 2 else width)
    lo2 = np.maximum(lo[:, None], valid_from[None, :])
    hi2 = np.maximum(hi[:, None], lo2)
    cols = np.arange(counts.shape[1])[None, :]
    total = cum[hi2, cols] - cum[lo2, cols]
    return total / np.maximum(hi2 - lo2, 1)


def _offset_slots(eng, first, *, offset, cohort_window, settle, censor, day, half, min_accounts, min_share):
    """One cohort offset: candidate slots, their counts, expected counts, member engagements."""
    t, t0 = eng.time, float(eng.time.min())
    testable = np.isfinite(first) & (first - t0 >= censor)
    cohort = np.full(eng.n_users, -1, np.int64)
    cohort[testable] = np.floor((first[testable] - t0) / cohort_window + offset).astype(np.int64)
    n_c = int(cohort.max()) + 1
    if n_c <= 0:
        return None
    onset = t0 + (np.arange(n_c) + 1 - offset) * cohort_window + settle  # bucket end + settle
    c_e = cohort[eng.user]
    settled = (c_e < 0) | (t >= onset[np.maximum(c_e, 0)])
    b = np.floor((t - t0) / day).astype(np.int64)
    n_b = int(b.max()) + 1
    tot = np.bincount(b[settled], minlength=n_b).astype(float)
    mine = settled & (c_e >= 0)
    coh = np.bincount(b[mine] * n_c + c_e[mine], minlength=n_b * n_c).reshape(n_b, n_c).astype(float)
    onset_day = np.clip(np.floor((onset - t0) / day).astype(np.int64), 0, n_b)
    share = _running_mean(coh, half, onset_day) / np.maximum(_running_mean(tot, half), 1e-12)[:, None]
    # candidate slots (item, cohort)
    key = eng.item[mine] * n_c + c_e[mine]
    uniq, inv, count = np.unique(key, return_inverse=True, return_counts=True)
    cand = np.flatnonzero(count >= min_accounts)
    if cand.size == 0:
        return {"family": int(uniq.size)}
    idx_mine = np.flatnonzero(mine)
    in_cand = np.isin(inv, cand)
    members = idx_mine[in_cand]
    slot_of = inv[in_cand]
    # effect size: the slot's share of the item's settled engagements over the slot's time span
    tmin = np.full(uniq.size, np.inf)
    tmax = np.full(uniq.size, -np.inf)
    np.minimum.at(tmin, slot_of, t[members])
    np.maximum.at(tmax, slot_of, t[members])
    s_idx = np.flatnonzero(settled)
    span = float(t.max() - t0) + 1.0
    sorted_key = np.sort(eng.item[s_idx] * span + (t[s_idx] - t0))
    items = uniq[cand] // n_c
    pad = DAY  # the item's engagement just around the slot's too: a slot never cuts its own burst
    hi_t = np.minimum(tmax[cand] + pad, t.max()) - t0
    lo_t = np.maximum(tmin[cand] - pad, t0) - t0
    within = np.searchsorted(sorted_key, items * span + hi_t, side="right") - np.searchsorted(sorted_key, items * span + lo_t, side="left")
    # the effect size counts the neighbouring cohorts too: a batch created over a few days may
    # straddle two buckets, and each half alone is a small share of the item's push
    near = count[cand].astype(float)
    for step in (-1, 1):
        k2 = uniq[cand] + step
        pos = np.clip(np.searchsorted(uniq, k2), 0, uniq.size - 1)
        same = (uniq[pos] == k2) & ((uniq[cand] % n_c) + step >= 0) & ((uniq[cand] % n_c) + step < n_c)
        near += np.where(same, count[pos], 0)
    keep = near >= min_share * within
    cand, items = cand[keep], items[keep]
    family = int(uniq.size)  # every (item, cohort) pair examined, not only those that passed the floors
    if cand.size == 0:
        return {"family": family}
    # expected count: sum of share[b, c] over the item's settled engagements
    u_items, row = np.unique(items, return_inverse=True)
    H = sp.csr_matrix((np.ones(s_idx.size), (eng.item[s_idx], b[s_idx])), shape=(eng.n_items, n_b))[u_items]
    expected = np.asarray(H @ share)[row, uniq[cand] % n_c]
    return {"slots": cand, "count": count[cand].astype(float), "expected": expected, "item": items,
            "members": members, "slot_of": slot_of, "family": family}


def cohort_lockstep(
    eng: Engagements,
    *,
    cohort_window: float = 3 * DAY,
    settle: float = 1 * DAY,
    censor: float = 30 * DAY,
    baseline: float = 15 * DAY,
    min_accounts: int = 5,
    min_share: float = 0.5,
    alpha: float = 0.01,
    cap: float = 20.0,
) -> FreshEvidence:
    """Significant (item, join cohort) slots (module docstring) and the accounts they explain.

    Returns a :class:`~mlsiege.defenses.reco.fresh_crowds.FreshEvidence`: per account the capped
    evidence (``-log10(p * n_pairs / alpha)``) of the slot that claimed it, 0 when none did,
    and that slot's item.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> from mlsiege.defenses.reco.engagement import as_engagements
    >>> p = planted_platform(600, 240, sybil_fraction=0.02, targets=2, aged_days=90, drip_days=21, seed=1)
    >>> ev = cohort_lockstep(as_engagements(p.interactions, p.timestamps))
    >>> round(float((ev.evidence[p.is_sybil] > 0).mean()), 2), int((ev.evidence[~p.is_sybil] > 0).sum())
    (0.92, 0)
    """
    if eng.time is None:
        raise DataValidationError("this detector needs timestamps (one time per interaction)")
    evidence = np.zeros(eng.n_users)
    item = np.full(eng.n_users, -1)
    if eng.time.size == 0:
        return FreshEvidence(evidence, item, 0, 0)
    first, _ = account_span(eng)
    half = max(0, int(round(baseline / DAY)) // 2)
    tables = [
        _offset_slots(eng, first, offset=off, cohort_window=cohort_window, settle=settle, censor=censor, day=DAY,
                      half=half, min_accounts=min_accounts, min_share=min_share)
        for off in (0.0, 0.5)
    ]
    tables = [tb for tb in tables if tb is not None]
    n_tested = sum(tb["family"] for tb in tables)
    tables = [tb for tb in tables if "slots" in tb]
    if n_tested == 0:
        return FreshEvidence(evidence, item, 0, 0)
    penalty = np.log10(n_tested / alpha)
    candidates, members, expected = [], {}, {}
    for k, tb in enumerate(tables):
        adjusted = -log10_poisson_tail(tb["count"], tb["expected"]) - penalty
        sig = np.flatnonzero(adjusted > 0)
        order = np.argsort(tb["slot_of"], kind="stable")
        sorted_slots = tb["slot_of"][order]
        for j in sig:
            s = int(tb["slots"][j])
            lo, hi = np.searchsorted(sorted_slots, [s, s + 1])
            members[(k, s)] = tb["members"][order[lo:hi]]
            expected[(k, s)] = float(tb["expected"][j])
            candidates.append((-float(adjusted[j]), k, s, int(tb["item"][j])))
    heapq.heapify(candidates)
    accepted = 0
    while candidates:
        _, k, s, this = heapq.heappop(candidates)
        idx = members[(k, s)]
        idx = idx[np.isin(item[eng.user[idx]], (-1, this))]  # accounts another item explained are out
        if idx.size < min_accounts:
            continue
        adjusted = float(-log10_poisson_tail(np.array([idx.size]), np.array([expected[(k, s)]]))[0]) - penalty
        if adjusted <= 0:
            continue
        if candidates and adjusted < -candidates[0][0] - 1e-12:
            heapq.heappush(candidates, (-adjusted, k, s, this))
            continue
        users = eng.user[idx]
        evidence[users] = np.maximum(evidence[users], min(adjusted, cap))
        item[users] = this
        accepted += 1
    return FreshEvidence(evidence, item, n_tested, accepted)
