"""Synchronized engagement: (item, time window) slots and how surprising their crowds are.

Part shared by the lockstep, co-engagement and profile detectors (the coordination scorer
tests crowds of fresh accounts against platform activity instead, see
:mod:`~mlsiege.defenses.reco.fresh_crowds`). Every engagement falls in a slot
``(item, floor(t / window + offset))`` for two offsets (0 and 1/2), so a burst is never split
by a window boundary. A slot's crowd is compared with the item's own rate: an item engaged
``n_i`` times over ``span_i`` seconds expects ``n_i * window / span_i`` engagements per window,
and the surprise of a slot holding ``c`` accounts is ``-log10 P(Poisson >= c)``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import scipy.sparse as sp
from scipy.special import gammainc, gammaln

from mlsiege.defenses.reco.engagement import Engagements
from mlsiege.errors import DataValidationError

__all__ = ["SlotTable", "account_sync", "log10_poisson_tail", "slot_table"]

DAY = 86_400.0


@dataclass(frozen=True)
class SlotTable:
    """Per engagement and offset: slot id, the slot's crowd size and surprise."""

    slot: np.ndarray  # (2, n_engagements) slot ids, offsets stacked (ids unique across offsets)
    crowd: np.ndarray  # (2, n_engagements) accounts in that slot
    surprise: np.ndarray  # (2, n_engagements) -log10 tail probability of the crowd
    n_slots: int


def log10_poisson_tail(count: np.ndarray, rate: np.ndarray) -> np.ndarray:
    """``log10 P(Poisson(rate) >= count)``, accurate far into the tail (no underflow to -inf).

    Examples
    --------
    >>> round(float(log10_poisson_tail(np.array([1]), np.array([1.0]))[0]), 4)  # 1 - e^-1
    -0.1992
    """
    c = np.asarray(count, dtype=float)
    lam = np.maximum(np.asarray(rate, dtype=float), 1e-12)
    with np.errstate(divide="ignore"):
        direct = np.log(gammainc(np.maximum(c, 1e-12), lam))  # P(X >= c) = P(c, lam), regularized
    # far tail: leading term c log(lam) - lam - log c! times the geometric bound of the rest
    lead = c * np.log(lam) - lam - gammaln(c + 1) - np.log1p(-np.minimum(lam / (c + 1), 0.999))
    out = np.where(np.isfinite(direct) & (direct > -600), direct, lead)
    return np.where(c <= 0, 0.0, out) / np.log(10)


def slot_table(eng: Engagements, window: float, *, min_span: float = 30 * DAY) -> SlotTable:
    """Slots of every engagement; ``min_span`` floors an item's active span (young items)."""
    if eng.time is None:
        raise DataValidationError("this detector needs timestamps (one time per interaction)")
    t = eng.time
    n_i = np.bincount(eng.item, minlength=eng.n_items).astype(float)
    first = np.full(eng.n_items, np.inf)
    last = np.full(eng.n_items, -np.inf)
    np.minimum.at(first, eng.item, t)
    np.maximum.at(last, eng.item, t)
    span = np.maximum(np.where(n_i > 0, last - first, 0.0), min_span)
    rate = n_i * window / span
    slots, crowds, surprises = [], [], []
    base = 0
    for offset in (0.0, 0.5):
        bucket = np.floor(t / window + offset).astype(np.int64)
        key = eng.item * (bucket.max() - bucket.min() + 1) + (bucket - bucket.min())
        uniq, inv, counts = np.unique(key, return_inverse=True, return_counts=True)
        crowd = counts[inv]
        slots.append(inv + base)
        base += uniq.size
        crowds.append(crowd)
        # crowd - 1 others joined this account; the account itself is in the item's own rate
        surprises.append(-log10_poisson_tail(crowd, rate[eng.item]))
    return SlotTable(np.vstack(slots), np.vstack(crowds), np.vstack(surprises), base)


def account_sync(eng: Engagements, table: SlotTable, *, min_accounts: int, min_surprise: float) -> dict[str, np.ndarray]:
    """Per account: strongest synchronized engagement, its time, and how many items were synced.

    An engagement is synchronized when its slot holds at least ``min_accounts`` accounts and its
    surprise is at least ``min_surprise``.
    """
    strong = (table.crowd >= min_accounts) & (table.surprise >= min_surprise)
    best = np.where(table.crowd >= min_accounts, table.surprise, 0.0).max(axis=0)
    best = np.minimum(best, 300.0)  # beyond float precision anyway
    sync = np.zeros(eng.n_users)
    np.maximum.at(sync, eng.user, best)
    # time of the account's most surprising engagement
    order = np.lexsort((-best, eng.user))
    first_of_user = np.unique(eng.user[order], return_index=True)[1]
    sync_time = np.full(eng.n_users, np.nan)
    sync_time[eng.user[order][first_of_user]] = eng.time[order][first_of_user]
    synced = strong.any(axis=0)
    items = sp.csr_matrix((np.ones(int(synced.sum())), (eng.user[synced], eng.item[synced])), shape=(eng.n_users, eng.n_items))
    items.data[:] = 1.0
    return {"sync": sync, "sync_time": sync_time, "synced_items": np.asarray(items.sum(axis=1)).ravel(), "strong": strong}

