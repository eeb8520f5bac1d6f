"""Fresh accounts in lockstep: which (item, time window) crowds of new accounts are significant.

The evidence :func:`~mlsiege.defenses.reco.scorers.coordination_scorer` rests on. An account is
*fresh* in its first days after its first engagement (:func:`freshness`; accounts first seen in
the log's first ``fresh_window`` may predate the log and are never fresh). Three steps, each
closing one way real accounts used to be flagged (issue 10):

1. **Test the fresh crowd, against the platform's activity.** A slot's statistic is the number
   of *fresh* accounts in it (weighted by freshness, see :func:`freshness`), not its whole
   crowd: a newcomer who joins a fan community's release slot is one fresh account, not a fresh
   crowd. Its expectation is the item's own rate (its engagements over its active span, floored
   for young items), modulated by the platform's activity in that window relative to the item's
   span, times the share of that window's engagements made by fresh accounts: the base rate of
   burst detection in a stream, a term's share of each batch (Kleinberg 2002), with a running
   median over ``baseline`` seconds so that a push of a few days cannot raise its own baseline.
   Without the activity term a growing platform's late days look bursty everywhere. The
   expectation is at least the item's own rate in the week on either side of the slot (the
   slot left out) times that fresh share: a new release is engaged by everyone active in its
   first days, the newcomers of those days included.
2. **Correct for the number of slots tested** (Bonferroni): a slot counts only when
   ``p * n_slots < alpha``, and its evidence is ``-log10(p * n_slots / alpha)``. A platform tests
   some 10^5 slots; newcomers that happen to pick the same popular item on the same day reach
   ``p <= 1e-4`` a few times per platform and are not evidence.
3. **Explain each account once** (greedy, most significant slot first, as FRAUDAR and D-Cube
   take out one dense block before looking for the next: Hooi et al. 2016; Shin et al. 2017).
   A slot claims its unclaimed fresh accounts; a later slot is re-tested without the accounts
   another item's slot already claimed. A campaign's accounts are claimed by their target push, so their filler and
   camouflage engagements no longer make a crowd that a real newcomer who happens to share
   that popular item on the same day would be blamed for.

References
----------
J. Kleinberg, "Bursty and hierarchical structure in streams", KDD 2002.
B. Hooi et al., "FRAUDAR: bounding graph fraud in the face of camouflage", KDD 2016.
K. Shin, B. Hooi, J. Kim, C. Faloutsos, "D-Cube: dense-block detection in terabyte-scale
tensors", WSDM 2017.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

import numpy as np
from scipy.ndimage import median_filter

from mlsiege.defenses.reco.engagement import Engagements
from mlsiege.defenses.reco.synchrony import DAY, log10_poisson_tail
from mlsiege.errors import DataValidationError

__all__ = ["FreshEvidence", "fresh_lockstep", "freshness"]


@dataclass(frozen=True)
class FreshEvidence:
    """Per account: evidence (``-log10(p * n_slots / alpha)`` of the slot that claimed it,
    capped, times its own freshness there; 0 when no significant slot explains it) and that
    slot's item (-1)."""

    evidence: np.ndarray
    item: np.ndarray
    n_slots: int  # slots tested (both window offsets)
    significant_slots: int  # slots that claimed at least one account


def freshness(eng: Engagements, fresh_window: float) -> np.ndarray:
    """Per engagement: 1 up to ``fresh_window / 2`` seconds after the account's first engagement,
    falling linearly to 0 at ``fresh_window``.

    An account first seen less than ``fresh_window`` after the log starts may be older than the
    log (its age is censored: a log that begins today shows every account as new), so it is
    never fresh.
    """
    first = np.full(eng.n_users, np.inf)
    np.minimum.at(first, eng.user, eng.time)
    fresh = np.clip(2.0 - 2.0 * (eng.time - first[eng.user]) / fresh_window, 0.0, 1.0)
    return np.where(first[eng.user] - eng.time.min() >= fresh_window, fresh, 0.0)


def _slots(eng: Engagements, fresh: np.ndarray, offset: float, *, window: float, baseline: float, min_span: float, local: float = 7 * DAY):
    """One window offset: slot id per engagement, each slot's fresh count and expected fresh count."""
    t = eng.time
    origin = int(np.floor(t.min() / window + offset))
    bucket = np.floor(t / window + offset).astype(np.int64) - origin
    n_b = int(bucket.max()) + 1
    size = max(1, int(round(baseline / window))) | 1  # odd, centred
    volume = median_filter(np.bincount(bucket, minlength=n_b).astype(float), size=size, mode="nearest")
    fresh_volume = median_filter(np.bincount(bucket, weights=fresh, minlength=n_b), size=size, mode="nearest")
    fresh_share = np.divide(fresh_volume, volume, out=np.zeros(n_b), where=volume > 0)
    # the item's own rate per window over its active span (at least min_span)
    n_i = np.bincount(eng.item, minlength=eng.n_items).astype(float)
    first = np.full(eng.n_items, np.inf)
    last = np.full(eng.n_items, -np.inf)
    np.minimum.at(first, eng.item, t)
    np.maximum.at(last, eng.item, t)
    seen = n_i > 0
    span = np.maximum(np.where(seen, last - first, 0.0), min_span)
    rate = n_i * window / span
    # mean platform activity over that span, to compare the slot's window with
    span_b = max(1, int(round(min_span / window)))
    lo = np.zeros(eng.n_items, np.int64)
    hi = np.ones(eng.n_items, np.int64)
    lo[seen] = np.floor(first[seen] / window + offset).astype(np.int64) - origin
    hi[seen] = np.floor(last[seen] / window + offset).astype(np.int64) - origin + 1
    hi = np.minimum(np.maximum(hi, lo + span_b), n_b)
    lo = np.clip(np.minimum(lo, hi - span_b), 0, None)
    cum = np.concatenate([[0.0], np.cumsum(volume)])
    mean_activity = (cum[hi] - cum[lo]) / np.maximum(hi - lo, 1)
    expected = rate[eng.item] * volume[bucket] / np.maximum(mean_activity[eng.item], 1e-12) * fresh_share[bucket]
    key = eng.item * n_b + bucket
    uniq, slot = np.unique(key, return_inverse=True)
    fresh_count = np.bincount(slot, weights=fresh, minlength=uniq.size)
    slot_expected = np.zeros(uniq.size)
    slot_expected[slot] = expected
    crowd = np.bincount(slot, minlength=uniq.size).astype(float)
    cum_crowd = np.concatenate([[0.0], np.cumsum(crowd)])
    slot_item, slot_bucket = uniq // n_b, uniq % n_b

    def item_sum(lo_off: int, hi_off: int) -> np.ndarray:
        """The item's engagements in windows ``bucket + lo_off .. bucket + hi_off`` (within the log)."""
        lo_k = slot_item * n_b + np.clip(slot_bucket + lo_off, 0, n_b - 1)
        hi_k = slot_item * n_b + np.clip(slot_bucket + hi_off, 0, n_b - 1)
        return cum_crowd[np.searchsorted(uniq, hi_k, side="right")] - cum_crowd[np.searchsorted(uniq, lo_k, side="left")]

    # the item's own rate around the slot (its windows within +-local, the slot's own left out):
    # a new release is engaged by everyone active in its first days, newcomers included
    n_local = max(1, int(round(local / window)))
    local_rate = (item_sum(-n_local, n_local) - crowd) / (2 * n_local)
    slot_expected = np.maximum(slot_expected, local_rate * fresh_share[slot_bucket])
    # the item's engagements in the slot and its two neighbouring windows: a slot never cuts its own burst
    return slot, fresh_count, slot_expected, item_sum(-1, 1)


def fresh_lockstep(
    eng: Engagements,
    *,
    window: float = DAY,
    fresh_window: float = 7 * DAY,
    min_accounts: int = 5,
    alpha: float = 0.01,
    cap: float = 20.0,
    baseline: float = 15 * DAY,
    min_span: float = 30 * DAY,
    min_share: float = 0.5,
) -> FreshEvidence:
    """Significant fresh crowds (steps 1-3 of the module docstring) and the accounts they explain.

    A slot is tested when it holds at least ``min_accounts`` fresh accounts (freshness-weighted)
    making up at least ``min_share`` of the item's engagements in that window and the two
    around it (a fan community's release day that some newcomers joined is mostly veterans:
    not a fresh crowd);
    ``alpha`` is the family-wise error level over all slots of both window offsets; ``cap``
    bounds the evidence (``-log10`` units) so that a huge crowd does not dwarf everything else.

    Examples
    --------
    >>> from mlsiege.checks.reco_defense import planted_platform
    >>> from mlsiege.defenses.reco.engagement import as_engagements
    >>> p = planted_platform(300, 120, sybil_fraction=0.03, targets=2, seed=1)
    >>> ev = fresh_lockstep(as_engagements(p.interactions, p.timestamps))
    >>> bool((ev.evidence[p.is_sybil] > 0).all()), int((ev.evidence[~p.is_sybil] > 0).sum())
    (True, 0)
    """
    if eng.time is None:
        raise DataValidationError("this detector needs timestamps (one time per interaction)")
    if eng.time.size == 0:
        return FreshEvidence(np.zeros(eng.n_users), np.full(eng.n_users, -1), 0, 0)
    fresh = freshness(eng, fresh_window)
    tables = [_slots(eng, fresh, off, window=window, baseline=baseline, min_span=min_span) for off in (0.0, 0.5)]
    n_slots = sum(fc.size for _, fc, _, _ in tables)
    penalty = np.log10(n_slots / alpha)
    candidates = []  # (-adjusted surprise, offset, slot)
    members: dict[tuple[int, int], np.ndarray] = {}  # fresh engagements of each candidate slot
    engaged_fresh = np.flatnonzero(fresh > 0)
    for k, (slot, fresh_count, expected, crowd) in enumerate(tables):
        tested = np.flatnonzero((fresh_count >= min_accounts) & (fresh_count >= min_share * crowd))
        adjusted = -log10_poisson_tail(fresh_count[tested], expected[tested]) - penalty
        significant = tested[adjusted > 0]
        candidates += [(-float(a), k, int(s)) for s, a in zip(significant, adjusted[adjusted > 0], strict=True)]
        idx = engaged_fresh[np.isin(slot[engaged_fresh], significant)]
        members.update({(k, int(s)): idx[slot[idx] == s] for s in significant})
    heapq.heapify(candidates)
    evidence = np.zeros(eng.n_users)
    item = np.full(eng.n_users, -1)  # the item of the crowd that claimed the account
    accepted = 0
    while candidates:
        _, k, s = heapq.heappop(candidates)
        idx = members[(k, s)]
        this = int(eng.item[idx[0]])
        # accounts another item's crowd explained are out; the overlapping window of the same
        # item is the same burst (the two offsets exist so that a burst is never split)
        idx = idx[np.isin(item[eng.user[idx]], (-1, this))]
        count = float(fresh[idx].sum())
        if count < min_accounts:
            continue
        adjusted = float(-log10_poisson_tail(np.array([count]), np.array([tables[k][2][s]]))[0]) - penalty
        if adjusted <= 0:
            continue
        if candidates and adjusted < -candidates[0][0] - 1e-12:  # others now stronger: re-queue
            heapq.heappush(candidates, (-adjusted, k, s))
            continue
        users = eng.user[idx]
        evidence[users] = np.maximum(evidence[users], min(adjusted, cap) * fresh[idx])
        item[users] = this
        accepted += 1
    return FreshEvidence(evidence, item, n_slots, accepted)
