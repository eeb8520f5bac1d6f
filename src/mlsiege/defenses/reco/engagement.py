"""The engagement log every reco defense reads: a user x item matrix with a time per entry.

Calling convention of the ``reco_defense`` family (see :mod:`mlsiege.checks.reco_defense`)::

    detector(interactions, *, timestamps=None, follows=None, seed=0, **options) -> DefenseResult

``interactions`` is a scipy sparse matrix (accounts x items) whose stored entries are the
engagements (a rating, or 1 for implicit feedback); ``timestamps`` is ``None`` or a sparse
matrix of the same shape and the same stored entries holding the time of each engagement in
seconds (Unix times are > 0, so no stored time is an explicit zero); ``follows`` is ``None`` or
a sparse accounts x accounts matrix, entry ``(a, b)`` meaning ``a`` follows ``b``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import scipy.sparse as sp

from mlsiege.errors import DataValidationError

__all__ = ["Engagements", "as_engagements", "from_frame"]


@dataclass(frozen=True)
class Engagements:
    """One row per engagement, sorted by (user, item): the arrays detectors vectorize over."""

    user: np.ndarray
    item: np.ndarray
    value: np.ndarray
    time: np.ndarray | None
    n_users: int
    n_items: int

    @property
    def matrix(self) -> sp.csr_matrix:
        return sp.csr_matrix((self.value, (self.user, self.item)), shape=(self.n_users, self.n_items))

    def binary(self) -> sp.csr_matrix:
        ones = np.ones(len(self.user))
        return sp.csr_matrix((ones, (self.user, self.item)), shape=(self.n_users, self.n_items))

    @property
    def span(self) -> tuple[float, float]:
        if self.time is None or len(self.time) == 0:
            return 0.0, 0.0
        return float(self.time.min()), float(self.time.max())


def _canonical(m: object, name: str) -> sp.csr_matrix:
    if not sp.issparse(m):
        raise DataValidationError(f"{name} must be a scipy sparse matrix, got {type(m).__name__}")
    csr = sp.csr_matrix(m, dtype=float, copy=True)
    csr.sum_duplicates()
    csr.sort_indices()
    return csr


def as_engagements(interactions: object, timestamps: object = None) -> Engagements:
    """Validate the family's inputs and flatten them into :class:`Engagements` (inputs untouched)."""
    R = _canonical(interactions, "interactions")
    if R.ndim != 2 or R.shape[0] == 0:
        raise DataValidationError(f"interactions must be a non-empty accounts x items matrix, got shape {R.shape}")
    if R.nnz == 0:
        raise DataValidationError("interactions hold no engagements: nothing to score")
    if not np.all(np.isfinite(R.data)):
        raise DataValidationError("interactions hold non-finite values")
    coo = R.tocoo()
    time = None
    if timestamps is not None:
        T = _canonical(timestamps, "timestamps")
        if T.shape != R.shape:
            raise DataValidationError(f"timestamps has shape {T.shape}, interactions {R.shape}")
        if T.nnz != R.nnz or not (np.array_equal(T.indptr, R.indptr) and np.array_equal(T.indices, R.indices)):
            raise DataValidationError("timestamps must hold a time for exactly the stored interactions")
        time = T.data.astype(float)
    return Engagements(coo.row.astype(np.int64), coo.col.astype(np.int64), coo.data.astype(float), time, R.shape[0], R.shape[1])


def from_frame(frame: pd.DataFrame, *, n_users: int | None = None, n_items: int | None = None) -> tuple[sp.csr_matrix, sp.csr_matrix | None, np.ndarray, np.ndarray]:
    """Build ``(interactions, timestamps, user_ids, item_ids)`` from a MovieLens-style frame.

    ``frame`` has columns ``user``, ``item`` and optionally ``rating`` and ``timestamp``; ids
    are mapped to contiguous rows/columns (``user_ids[row]`` gives the original id back).
    Repeated (user, item) pairs keep their last engagement.
    """
    missing = [c for c in ("user", "item") if c not in frame.columns]
    if missing:
        raise DataValidationError(f"engagement log lacks column(s) {missing}", columns=missing)
    df = frame.drop_duplicates(["user", "item"], keep="last")
    user_ids, u = np.unique(df["user"].to_numpy(), return_inverse=True)
    item_ids, i = np.unique(df["item"].to_numpy(), return_inverse=True)
    shape = (n_users or len(user_ids), n_items or len(item_ids))
    value = df["rating"].to_numpy(float) if "rating" in df.columns else np.ones(len(df))
    R = sp.csr_matrix((value, (u, i)), shape=shape)
    T = None
    if "timestamp" in df.columns:
        t = df["timestamp"].to_numpy(float)
        if np.any(t <= 0) or not np.all(np.isfinite(t)):
            raise DataValidationError("timestamps must be positive finite seconds")
        T = sp.csr_matrix((t, (u, i)), shape=shape)
    return R, T, user_ids, item_ids
