"""Engagement logs as a sparse ``users x items`` matrix with timestamps and original ids.

Formats: MovieLens (``user item rating timestamp`` tab-separated as in ml-100k, or
``::``-separated as in ml-1m; Harper & Konstan 2015), a CSV or Parquet table with a header
holding ``user,item[,rating][,timestamp]``, and an optional follow/trust edge list
(``follower followee`` per line). Duplicate (user, item) pairs are merged, not rejected: the pair
keeps its latest timestamp and the rating given then.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mlsiege.errors import DataValidationError

__all__ = ["Interactions", "from_arrays", "load_follows", "load_interactions", "load_movielens", "load_table"]


@dataclass(frozen=True)
class Interactions:
    """Merged engagements.

    Attributes
    ----------
    matrix
        ``users x items`` CSR of ratings (1.0 for implicit feedback).
    timestamps
        ``users x items`` CSR of the latest timestamp per pair (same sparsity as ``matrix``).
    user_ids, item_ids
        Original ids, position = row / column index.
    duplicates
        How many duplicate rows were merged.
    """

    matrix: sp.csr_matrix
    timestamps: sp.csr_matrix
    user_ids: np.ndarray
    item_ids: np.ndarray
    duplicates: int = 0

    @property
    def n_users(self) -> int:
        return int(self.matrix.shape[0])

    @property
    def n_items(self) -> int:
        return int(self.matrix.shape[1])

    @property
    def nnz(self) -> int:
        return int(self.matrix.nnz)


def from_arrays(
    users: np.ndarray,
    items: np.ndarray,
    ratings: np.ndarray | None = None,
    timestamps: np.ndarray | None = None,
) -> Interactions:
    """Build :class:`Interactions` from parallel arrays of raw ids (any hashable labels)."""
    users, items = np.asarray(users), np.asarray(items)
    n = len(users)
    if len(items) != n:
        raise DataValidationError(f"users and items differ in length: {n} vs {len(items)}")
    ratings = np.ones(n, dtype=np.float32) if ratings is None else np.asarray(ratings, dtype=np.float32)
    stamps = np.arange(n, dtype=np.float64) if timestamps is None else np.asarray(timestamps, dtype=np.float64)
    bad = np.flatnonzero(~np.isfinite(ratings) | ~np.isfinite(stamps))
    if bad.size:
        raise DataValidationError("ratings and timestamps must be finite numbers", rows=bad.tolist())
    user_ids, u = np.unique(users, return_inverse=True)
    item_ids, i = np.unique(items, return_inverse=True)
    # keep, per pair, the latest row: sort by (pair, time) and take each pair's last row
    pair = u.astype(np.int64) * len(item_ids) + i
    order = np.lexsort((np.arange(n), stamps, pair))
    last = np.ones(n, dtype=bool)
    last[:-1] = pair[order][1:] != pair[order][:-1]
    keep = order[last]
    shape = (len(user_ids), len(item_ids))
    matrix = sp.csr_matrix((ratings[keep], (u[keep], i[keep])), shape=shape, dtype=np.float32)
    times = sp.csr_matrix((stamps[keep], (u[keep], i[keep])), shape=shape, dtype=np.float64)
    matrix.sort_indices()
    times.sort_indices()
    return Interactions(matrix, times, user_ids, item_ids, duplicates=int(n - keep.size))


def _finish(frame: pd.DataFrame, source: str) -> Interactions:
    if frame.empty:
        raise DataValidationError(f"{source} holds no interactions")
    ratings = frame["rating"].to_numpy() if "rating" in frame else None
    stamps = frame["timestamp"].to_numpy() if "timestamp" in frame else None
    try:
        ratings = None if ratings is None else ratings.astype(np.float32)
        stamps = None if stamps is None else stamps.astype(np.float64)
    except (TypeError, ValueError) as exc:
        raise DataValidationError(f"{source}: rating and timestamp must be numbers ({exc})") from exc
    return from_arrays(frame["user"].to_numpy(), frame["item"].to_numpy(), ratings, stamps)


def load_movielens(path: str | Path) -> Interactions:
    """Read ``user item rating timestamp`` lines, tab- (ml-100k) or ``::``-separated (ml-1m)."""
    path = Path(path)
    with path.open("r", encoding="utf-8", errors="replace") as fh:
        first = fh.readline()
    sep = "::" if "::" in first else ("\t" if "\t" in first else r"\s+")
    try:
        frame = pd.read_csv(
            path, sep=sep, header=None, engine="python" if sep != "\t" else "c",
            names=["user", "item", "rating", "timestamp"], usecols=[0, 1, 2, 3],
        )
    except (pd.errors.ParserError, ValueError) as exc:
        raise DataValidationError(f"{path.name}: not a MovieLens-format ratings file ({exc})") from exc
    if frame.isna().any(axis=None):
        bad = np.flatnonzero(frame.isna().any(axis=1).to_numpy())
        raise DataValidationError(f"{path.name}: expected 4 fields per line (user item rating timestamp)", rows=bad.tolist())
    return _finish(frame, path.name)


def load_table(path: str | Path) -> Interactions:
    """Read a CSV or Parquet table whose header holds ``user,item[,rating][,timestamp]``."""
    path = Path(path)
    if path.suffix.lower() in (".parquet", ".pq"):
        try:
            frame = pd.read_parquet(path)
        except (ImportError, ValueError, OSError) as exc:
            raise DataValidationError(f"{path.name}: cannot read Parquet ({exc})") from exc
    else:
        frame = pd.read_csv(path)
    frame.columns = [str(c).strip().lower() for c in frame.columns]
    missing = [c for c in ("user", "item") if c not in frame.columns]
    if missing:
        raise DataValidationError(f"{path.name}: missing column(s) {missing}; expected user,item[,rating][,timestamp]", columns=missing)
    return _finish(frame, path.name)


def load_interactions(path: str | Path, fmt: str = "movielens") -> Interactions:
    """Read ``path`` in format ``movielens``, ``csv`` or ``parquet``."""
    if fmt == "movielens":
        return load_movielens(path)
    if fmt in ("csv", "parquet"):
        return load_table(path)
    raise DataValidationError(f"unknown format {fmt!r}; expected movielens, csv or parquet")


def load_follows(path: str | Path, interactions: Interactions) -> sp.csr_matrix:
    """A ``users x users`` follow matrix from ``follower followee`` lines (ids as in the ratings).

    Edges naming users absent from ``interactions`` are dropped (they cannot be recommended to).
    """
    path = Path(path)
    frame = pd.read_csv(path, sep=r"[\s,;]+", header=None, engine="python", usecols=[0, 1], comment="#")
    index = pd.Index(interactions.user_ids)
    src = index.get_indexer(frame[0].to_numpy())
    dst = index.get_indexer(frame[1].to_numpy())
    ok = (src >= 0) & (dst >= 0) & (src != dst)
    n = interactions.n_users
    follows = sp.csr_matrix((np.ones(int(ok.sum()), dtype=np.float32), (src[ok], dst[ok])), shape=(n, n))
    follows.data[:] = 1.0
    return follows
