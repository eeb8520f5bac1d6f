"""Per-account profile statistics, and how several of them combine into one suspicion score.

Features (one value per account, see :func:`account_features`):

* ``degree``: engagements;
* ``rating_deviation``: RDMA of Chirita et al. (2005), mean ``|r - item mean| / item degree``;
* ``account_age``: seconds from the account's first engagement to the end of the log;
* ``burstiness``: share of the account's engagements that fall in its busiest day;
* ``sync``, ``age_at_sync``: surprise of its most synchronized engagement (see
  :mod:`~mlsiege.defenses.reco.synchrony`) and how old the account was at that moment.

:func:`fisher_combine` turns each feature into an empirical tail probability over the accounts
(rank based, so units and scales never matter) and sums ``-log p`` (Fisher 1925).
"""

from __future__ import annotations

import numpy as np

from mlsiege.defenses.reco.engagement import Engagements
from mlsiege.defenses.reco.synchrony import DAY, account_sync, slot_table

__all__ = ["account_features", "fisher_combine", "tail_probability"]


def account_features(eng: Engagements, *, window: float = DAY, min_accounts: int = 5, min_surprise: float = 6.0, sync: bool = True) -> dict[str, np.ndarray]:
    """The per-account features above (time features are NaN without timestamps; ``sync=False``
    skips the two synchrony features, the costly part, leaving them NaN)."""
    n = eng.n_users
    degree = np.bincount(eng.user, minlength=n).astype(float)
    n_i = np.bincount(eng.item, minlength=eng.n_items).astype(float)
    mean_i = np.bincount(eng.item, weights=eng.value, minlength=eng.n_items) / np.maximum(n_i, 1)
    dev = np.abs(eng.value - mean_i[eng.item]) / np.maximum(n_i[eng.item], 1)
    rdma = np.bincount(eng.user, weights=dev, minlength=n) / np.maximum(degree, 1)
    out = {"degree": degree, "rating_deviation": rdma}
    nan = np.full(n, np.nan)
    if eng.time is None:
        return {**out, "account_age": nan, "burstiness": nan, "sync": np.zeros(n), "age_at_sync": nan}
    first = np.full(n, np.inf)
    np.minimum.at(first, eng.user, eng.time)
    end = float(eng.time.max())
    day = np.floor(eng.time / DAY).astype(np.int64)
    key = eng.user * (day.max() - day.min() + 1) + (day - day.min())
    uniq, counts = np.unique(key, return_counts=True)
    busiest = np.zeros(n)
    np.maximum.at(busiest, uniq // (day.max() - day.min() + 1), counts)
    has = degree > 0
    age = np.where(has, end - first, np.nan)
    if sync:
        sync = account_sync(eng, slot_table(eng, window), min_accounts=min_accounts, min_surprise=min_surprise)
        age_at_sync = np.where(sync["sync"] >= min_surprise, sync["sync_time"] - first, np.nan)
    else:
        sync, age_at_sync = {"sync": nan}, nan
    return {
        **out,
        "account_age": age,
        "burstiness": np.where(has, busiest / np.maximum(degree, 1), np.nan),
        "sync": sync["sync"],
        "age_at_sync": age_at_sync,
    }


def tail_probability(values: np.ndarray, *, higher_is_suspicious: bool = True) -> np.ndarray:
    """Share of accounts at least as extreme as each one; NaN (no evidence) gives 1.

    Examples
    --------
    >>> tail_probability(np.array([1.0, 3.0, 2.0, np.nan]))
    array([0.75, 0.25, 0.5 , 1.  ])
    """
    v = np.asarray(values, dtype=float)
    v = v if higher_is_suspicious else -v
    ok = np.isfinite(v)
    out = np.ones(v.size)
    if ok.any():
        s = np.sort(v[ok])
        out[ok] = (ok.sum() - np.searchsorted(s, v[ok], side="left")) / v.size
    return out


def fisher_combine(features: dict[str, np.ndarray], orientation: dict[str, bool]) -> np.ndarray:
    """``-sum log p`` over the features named in ``orientation`` (name -> higher is suspicious)."""
    total = np.zeros(next(iter(features.values())).size)
    for name, higher in orientation.items():
        total -= np.log(tail_probability(features[name], higher_is_suspicious=higher))
    return total
