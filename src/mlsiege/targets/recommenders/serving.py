"""Batched top-k serving shared by the reference recommenders.

A recommender supplies ``scores(users) -> dense (len(users), n_items)`` for a batch of users; this
module masks what each user already engaged with and keeps the ``k`` best items per row with
``argpartition`` (no full sort), a batch at a time so memory stays bounded at any scale.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import scipy.sparse as sp

from mlsiege.errors import ConfigError

__all__ = ["as_user_items", "row_top_k", "top_k"]


def as_user_items(interactions: object) -> sp.csr_matrix:
    """A ``users x items`` CSR matrix of float32 weights from a matrix or an ``Interactions``."""
    matrix = getattr(interactions, "matrix", interactions)
    if not sp.issparse(matrix):
        matrix = sp.csr_matrix(np.asarray(matrix, dtype=np.float32))
    matrix = sp.csr_matrix(matrix, dtype=np.float32)
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
    for start in range(0, len(users), batch):
        chunk = users[start : start + batch]
        block = np.asarray(scores(chunk), dtype=np.float32)
        if tie is not None:
            block += tie
        rows = seen[chunk]
        r_idx = np.repeat(np.arange(len(chunk)), np.diff(rows.indptr))
        block[r_idx, rows.indices] = -np.inf
        out[start : start + len(chunk)] = row_top_k(block, k)[0]
    return out
