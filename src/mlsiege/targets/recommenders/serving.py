"""Batched top-k serving shared by the reference recommenders.

A recommender supplies ``scores(users) -> dense (len(users), n_items)`` for a batch of users; this
module masks what each user already engaged with and keeps the ``k`` best items per row with
``argpartition`` (no full sort), a batch at a time so memory stays bounded at any scale.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError

__all__ = ["as_user_items", "row_top_k", "top_k", "top_k_sparse"]


def as_user_items(interactions: object) -> sp.csr_matrix:
    """A ``users x items`` CSR matrix of float32 weights from a matrix or an ``Interactions``."""
    matrix = getattr(interactions, "matrix", interactions)
    if not sp.issparse(matrix):
        matrix = sp.csr_matrix(np.asarray(matrix, dtype=np.float32))
    matrix = sp.csr_matrix(matrix, dtype=np.float32, copy=True)
    if matrix.ndim != 2:
        raise ConfigError(f"interactions must be a 2-D users x items matrix, got shape {matrix.shape}")
    matrix.sum_duplicates()
    return matrix


def row_top_k(
    block: np.ndarray, k: int, *, positive: bool = False
) -> tuple[np.ndarray, np.ndarray]:
    """Column indices and values of the ``k`` largest entries of each row, best first.

    A full ``argpartition`` over every row costs more than the scoring itself at 10k items, so
    each row is cut into about ``8 k`` chunks: the k-th largest chunk maximum is a lower bound on
    the row's k-th largest value (k chunks hold an entry at least that large), and only the
    entries at or above it are sorted. ``positive`` keeps only entries > 0 (the rest come back
    as index 0 with value ``-inf``).
    """
    n_rows, n_cols = block.shape
    k = int(min(k, n_cols))
    chunks = min(n_cols, 8 * k)
    width = -(-n_cols // chunks)
    chunks = -(-n_cols // width)
    padded = block
    if width * chunks != n_cols:
        padded = np.full((n_rows, width * chunks), -np.inf, dtype=block.dtype)
        padded[:, :n_cols] = block
    maxima = padded.reshape(n_rows, chunks, width).max(axis=2)
    bound = np.partition(maxima, chunks - k, axis=1)[:, chunks - k]
    if positive:
        bound = np.maximum(bound, np.finfo(block.dtype).tiny)
    rows, cols = np.nonzero(block >= bound[:, None])
    values = block[rows, cols]
    order = np.lexsort((cols, -values, rows))
    rows, cols, values = rows[order], cols[order], values[order]
    starts = np.searchsorted(rows, np.arange(n_rows))
    rank = np.arange(rows.size) - starts[rows]
    keep = rank < k
    idx = np.zeros((n_rows, k), dtype=np.int64)
    val = np.full((n_rows, k), -np.inf, dtype=block.dtype)
    idx[rows[keep], rank[keep]] = cols[keep]
    val[rows[keep], rank[keep]] = values[keep]
    return idx, val


def _check_users(users: np.ndarray, n_users: int) -> np.ndarray:
    users = np.atleast_1d(np.asarray(users)).astype(np.int64, copy=False)
    if users.size and (users.min() < 0 or users.max() >= n_users):
        bad = users[(users < 0) | (users >= n_users)][:3].tolist()
        raise ConfigError(f"unknown user ids {bad}: the model was fitted on {n_users} users")
    return users


def top_k(
    scores: Callable[[np.ndarray], np.ndarray],
    seen: sp.csr_matrix,
    users: np.ndarray,
    k: int,
    *,
    prior: np.ndarray | None = None,
    batch: int = 2048,
    threads: int = 2,
) -> np.ndarray:
    """Top-``k`` unseen items per user, best first, shape ``(len(users), k)``.

    ``prior`` (one value per item, in [0, 1)) breaks ties and ranks items for users whose scores
    are all zero (cold users fall back to it); it is scaled far below any real score.
    """
    if int(k) != k or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    n_users, n_items = seen.shape
    users = _check_users(users, n_users)
    k = int(min(k, n_items))
    out = np.empty((len(users), k), dtype=np.int64)
    tie = None if prior is None else (np.asarray(prior, dtype=np.float32) * 1e-6)

    def serve(start: int) -> None:
        chunk = users[start : start + batch]
        block = np.asarray(scores(chunk), dtype=np.float32)
        if tie is not None:
            block += tie
        rows = seen[chunk]
        r_idx = np.repeat(np.arange(len(chunk)), np.diff(rows.indptr))
        block[r_idx, rows.indices] = -np.inf
        out[start : start + len(chunk)] = row_top_k(block, k)[0]

    # numpy and scipy.sparse release the GIL in these kernels: two threads use both cores
    starts = range(0, len(users), batch)
    if len(users) <= batch or threads <= 1:
        for start in starts:
            serve(start)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(serve, starts))
    return out


def top_k_sparse(
    scores: Callable[[np.ndarray], sp.csr_matrix],
    seen: sp.csr_matrix,
    users: np.ndarray,
    k: int,
    *,
    prior: np.ndarray,
    batch: int = 4096,
    threads: int = 2,
) -> np.ndarray:
    """Like :func:`top_k` for models whose score rows are sparse (item-kNN, random walks).

    Candidates per user are the stored scores plus the ``2 k`` items with the highest ``prior``
    (the cold-user fallback); seen items are dropped and the rest sorted, so the cost follows the
    number of stored scores, not users x items. Rows left with fewer than ``k`` candidates (a
    user who saw every popular item) are served by the dense path.
    """
    if int(k) != k or k < 1:
        raise ConfigError(f"k must be a positive integer, got {k!r}")
    n_users, n_items = seen.shape
    users = _check_users(users, n_users)
    k = int(min(k, n_items))
    tie = np.asarray(prior, dtype=np.float32) * 1e-6
    popular = np.argsort(-tie, kind="stable")[: min(n_items, 2 * k)]
    out = np.empty((len(users), k), dtype=np.int64)

    def serve(start: int) -> None:
        chunk = users[start : start + batch]
        n = len(chunk)
        base = sp.csr_matrix(scores(chunk), dtype=np.float32)
        # the fallback items enter as structure only (a value far below any score), the prior once
        fallback = sp.csr_matrix(
            (np.full(n * popular.size, 1e-30, dtype=np.float32), np.tile(popular, n), np.arange(n + 1) * popular.size),
            shape=(n, n_items),
        )
        seen_rows = seen[chunk]
        # seen items get a large negative score in the same sparse sum, then are filtered out
        cand = (base + fallback - seen_rows * np.float32(1e9)).tocsr()
        data = cand.data + tie[cand.indices]
        valid = data > 0
        rows_all = np.repeat(np.arange(n), np.diff(cand.indptr))
        rows, cols, data = rows_all[valid], cand.indices[valid], data[valid]
        counts = np.bincount(rows, minlength=n)
        row_start = np.concatenate([[0], np.cumsum(counts)[:-1]])
        # one float key orders rows, then values descending (all scores are > 0)
        order = np.argsort(rows + 1.0 / (2.0 + data.astype(np.float64)))
        rank = np.arange(order.size) - row_start[rows[order]]
        keep = rank < k
        block = np.zeros((n, k), dtype=np.int64)
        block[rows[order[keep]], rank[keep]] = cols[order[keep]]
        short = np.flatnonzero(counts < k)
        if short.size:
            dense = sp.csr_matrix(scores(chunk[short]), dtype=np.float32).toarray() + tie
            sr = seen_rows[short]
            dense[np.repeat(np.arange(short.size), np.diff(sr.indptr)), sr.indices] = -np.inf
            block[short] = row_top_k(dense, k)[0]
        out[start : start + n] = block

    starts = range(0, len(users), batch)
    if len(users) <= batch or threads <= 1:
        for start in starts:
            serve(start)
    else:
        with ThreadPoolExecutor(max_workers=threads) as pool:
            list(pool.map(serve, starts))
    return out
