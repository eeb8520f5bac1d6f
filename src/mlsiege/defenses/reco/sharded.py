"""Per-account statistics over account shards: the path beyond one machine.

The per-account profile statistics (:func:`~mlsiege.defenses.reco.profiles.account_features`
without the synchrony pair: ``degree``, ``rating_deviation``, ``account_age``, ``burstiness``)
need only two things from outside an account's own rows: each item's engagement count and
rating sum, and the log's last time. So they split as one reduce and one map:

1. **reduce** (small): per item count and rating sum, and the last time, summed over shards;
2. **map** (the bulk): each shard of consecutive account rows computes its accounts' statistics
   from its own rows and the broadcast item aggregates; results are concatenated in order.

The map runs as tasks of :mod:`mlsiege.executors`: inline, a local process pool, or
Ray tasks (extra ``ray``) on a cluster, where each task would read its shard from shared
storage instead of receiving it (here shards are sliced from the matrix in memory). The
significance tests of the coordination scorer also reduce to sums over shards (slot counts per
(item, window) and per (item, cohort)), followed by a per-shard pass that assigns accounts to
the significant slots; that second path is described in docs/reco-defenses.md, not built.

Examples
--------
>>> from mlsiege.checks.reco_defense import planted_platform
>>> from mlsiege.defenses.reco.engagement import as_engagements
>>> from mlsiege.defenses.reco.profiles import account_features
>>> p = planted_platform(300, 120, sybil_fraction=0.02, targets=2, seed=1)
>>> sharded = account_statistics(p.interactions, p.timestamps, shards=3)
>>> whole = account_features(as_engagements(p.interactions, p.timestamps), sync=False)
>>> all(np.allclose(sharded[k], whole[k], equal_nan=True) for k in sharded)
True
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.errors import ConfigError
from mlsiege.executors import run_inline, run_pool, run_ray

__all__ = ["FEATURES", "account_statistics", "shard_statistics"]

FEATURES = ("degree", "rating_deviation", "account_age", "burstiness")
DAY = 86_400.0


def shard_statistics(task: dict[str, Any]) -> dict[str, Any]:
    """The map step: statistics of one shard's accounts (a picklable task dict in, dict out)."""
    indptr, items, values = task["indptr"], task["indices"], task["data"]
    times = task.get("times")
    n = indptr.size - 1
    user = np.repeat(np.arange(n), np.diff(indptr))
    degree = np.diff(indptr).astype(float)
    n_i, mean_i = task["item_count"], task["item_mean"]
    dev = np.abs(values - mean_i[items]) / np.maximum(n_i[items], 1)
    out = {"degree": degree, "rating_deviation": np.bincount(user, weights=dev, minlength=n) / np.maximum(degree, 1)}
    nan = np.full(n, np.nan)
    if times is None:
        return {"start": task["start"], **out, "account_age": nan, "burstiness": nan}
    has = degree > 0
    first = np.full(n, np.inf)
    if times.size:
        starts = indptr[:-1][has]
        first[has] = np.minimum.reduceat(times, starts)
    day = np.floor(times / DAY).astype(np.int64)
    span = int(day.max() - day.min() + 1) if day.size else 1
    key = user * span + (day - (day.min() if day.size else 0))
    uniq, counts = np.unique(key, return_counts=True)
    busiest = np.zeros(n)
    np.maximum.at(busiest, uniq // span, counts)
    return {
        "start": task["start"], **out,
        "account_age": np.where(has, task["end"] - first, np.nan),
        "burstiness": np.where(has, busiest / np.maximum(degree, 1), np.nan),
    }


def account_statistics(
    interactions: sp.spmatrix,
    timestamps: sp.spmatrix | None = None,
    *,
    shards: int = 4,
    executor: str = "inline",
    workers: int = 2,
    address: str | None = "auto",
) -> dict[str, np.ndarray]:
    """Per-account statistics (:data:`FEATURES`) computed shard by shard (module docstring).

    ``executor``: ``"inline"`` (one shard after the other here), ``"local"`` (a process pool
    of ``workers``) or ``"ray"`` (Ray tasks at ``address``; extra ``ray``).
    """
    if shards < 1:
        raise ConfigError(f"shards must be >= 1, got {shards}")
    if executor not in ("inline", "local", "ray"):
        raise ConfigError(f"executor must be 'inline', 'local' or 'ray', got {executor!r}")
    eng = as_engagements(interactions, timestamps)  # validation, and the canonical (user, item) order
    R = eng.matrix
    times = None if eng.time is None else eng.time
    # reduce: item aggregates and the log's end (in a cluster: sums of per-shard bincounts)
    n_i = np.bincount(eng.item, minlength=eng.n_items).astype(float)
    mean_i = np.bincount(eng.item, weights=eng.value, minlength=eng.n_items) / np.maximum(n_i, 1)
    end = float(times.max()) if times is not None else 0.0
    bounds = np.linspace(0, eng.n_users, shards + 1).astype(np.int64)
    tasks = []
    for lo, hi in zip(bounds[:-1], bounds[1:], strict=True):
        a, b = R.indptr[lo], R.indptr[hi]
        tasks.append({
            "start": int(lo), "indptr": R.indptr[lo : hi + 1] - a, "indices": R.indices[a:b], "data": R.data[a:b],
            "times": None if times is None else times[a:b], "item_count": n_i, "item_mean": mean_i, "end": end,
        })
    results: list[dict[str, Any]] = []
    if executor == "inline":
        run_inline(shard_statistics, tasks, results.append)
    elif executor == "local":
        run_pool(shard_statistics, tasks, results.append, workers=workers)
    else:
        run_ray(shard_statistics, tasks, results.append, address=address)
    results.sort(key=lambda r: r["start"])
    return {name: np.concatenate([r[name] for r in results]) for name in FEATURES}
