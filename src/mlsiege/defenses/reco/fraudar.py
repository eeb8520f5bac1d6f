"""FRAUDAR (Hooi et al. 2016): camouflage-resistant dense-block detection by greedy peeling.

The account x item graph is peeled one node at a time, always removing the node whose
remaining edges weigh least (a block-minimum priority queue keeps the priorities); the densest intermediate
set, measured by total edge weight over node count, is the block. Edges into an item weigh
``1 / log(degree + c)`` (column weighting), so edges to popular items, the ones fraudsters add
as camouflage, count little. Several blocks are found by deleting a block's edges and peeling again.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass

import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco.engagement import as_engagements
from mlsiege.defenses.reco.flagging import account_result
from mlsiege.errors import ConfigError
from mlsiege.results import DefenseResult

__all__ = ["FraudarConfig", "fraudar_blocks", "fraudar_hooi2016", "peel_densest"]


@dataclass(frozen=True)
class FraudarConfig:
    """``blocks`` to find; ``log_offset`` is the ``c`` of the column weights ``1/log(d + c)``."""

    blocks: int = 3
    log_offset: float = 5.0

    def __post_init__(self) -> None:
        if self.blocks < 1:
            raise ConfigError(f"blocks must be >= 1, got {self.blocks}")
        if self.log_offset <= 1.0:
            raise ConfigError(f"log_offset must be > 1 (weights stay finite), got {self.log_offset}")


class _BlockMinQueue:
    """A min-priority structure over a fixed set of nodes, in sqrt(n) blocks of numpy arrays.

    Priorities only decrease (peeling removes edges) or are retired (``inf``); each change
    refreshes the minima of the touched blocks, so a pop costs O(sqrt n) vectorized work instead
    of one Python-level heap operation per edge.
    """

    def __init__(self, prio: np.ndarray) -> None:
        n = prio.size
        self.width = max(1, int(np.ceil(np.sqrt(n))))
        rows = -(-n // self.width)
        self.flat = np.full(rows * self.width, np.inf)
        self.flat[:n] = prio
        self.grid = self.flat.reshape(rows, self.width)
        self.mins = self.grid.min(axis=1)

    def pop(self) -> tuple[int, float]:
        """Retire the node of least priority; returns it with its priority."""
        b = int(self.mins.argmin())
        row = self.grid[b]
        j = int(row.argmin())
        value = float(row[j])
        row[j] = np.inf
        self.mins[b] = np.minimum.reduce(row)
        return b * self.width + j, value

    def lower(self, nodes: np.ndarray, by: np.ndarray) -> None:
        # retired nodes hold inf, and inf - w stays inf: no need to filter them out first
        self.flat[nodes] -= by
        touched = nodes // self.width  # repeats only redo a block's min
        self.mins[touched] = np.minimum.reduce(self.grid[touched], axis=1)


def peel_densest(W: sp.csr_matrix) -> tuple[np.ndarray, np.ndarray, float]:
    """Greedy peeling of a weighted bipartite graph: ``(rows, cols, density)`` of the densest set.

    Density is total edge weight divided by the number of nodes (rows + columns) in the set.
    """
    W = sp.csr_matrix(W)
    W.sum_duplicates()
    n_rows, n_cols = W.shape
    Wc = W.tocsc()
    n = n_rows + n_cols
    queue = _BlockMinQueue(np.concatenate([np.asarray(W.sum(axis=1)).ravel(), np.asarray(W.sum(axis=0)).ravel()]))
    # adjacency of every node (rows then columns) in one pair of arrays, offsets as a list
    indptr = np.concatenate([W.indptr, Wc.indptr[1:] + W.nnz]).tolist()
    nbrs = np.concatenate([W.indices + n_rows, Wc.indices])
    wts = np.concatenate([W.data, Wc.data])
    total = float(W.sum())
    best, best_step = total / n, 0
    order = np.empty(n, dtype=np.int64)
    left = [n_rows, n_cols]  # peeling stops once one side is empty, as in the paper's code
    step = 0
    while left[0] and left[1]:
        node, value = queue.pop()
        total -= value
        order[step] = node
        step += 1
        left[node >= n_rows] -= 1
        lo, hi = indptr[node], indptr[node + 1]
        if hi > lo:
            queue.lower(nbrs[lo:hi], wts[lo:hi])
        density = total / (n - step) if n > step else 0.0
        if density > best:
            best, best_step = density, step
    kept = np.ones(n, dtype=bool)
    kept[order[:best_step]] = False
    nodes = np.flatnonzero(kept)
    return nodes[nodes < n_rows], nodes[nodes >= n_rows] - n_rows, float(best)


def _without_block(A: sp.csr_matrix, rows: np.ndarray, cols: np.ndarray) -> sp.csr_matrix:
    in_rows = np.zeros(A.shape[0], bool)
    in_rows[rows] = True
    in_cols = np.zeros(A.shape[1], bool)
    in_cols[cols] = True
    coo = A.tocoo()
    keep = ~(in_rows[coo.row] & in_cols[coo.col])
    return sp.csr_matrix((coo.data[keep], (coo.row[keep], coo.col[keep])), shape=A.shape)


def fraudar_blocks(A: sp.spmatrix, blocks: int, log_offset: float = 5.0) -> list[tuple[np.ndarray, np.ndarray, float]]:
    """``blocks`` rounds of column weighting, peeling and deleting the block's edges."""
    A = sp.csr_matrix(A, dtype=float, copy=True)
    A.data[:] = 1.0
    found = []
    for _ in range(blocks):
        if A.nnz == 0:
            break
        col_w = 1.0 / np.log(np.asarray(A.sum(axis=0)).ravel() + log_offset)
        rows, cols, density = peel_densest(sp.csr_matrix(A.multiply(col_w[None, :])))
        if rows.size == 0 or cols.size == 0:
            break
        found.append((rows, cols, density))
        A = _without_block(A, rows, cols)
    return found


def fraudar_hooi2016(interactions, *, timestamps=None, follows=None, seed: int = 0, threshold: float | None = None, **options) -> DefenseResult:
    """Flag the accounts of the densest camouflage-weighted blocks (FRAUDAR, Hooi et al. 2016).

    B. Hooi, H. A. Song, A. Beutel, N. Shah, K. Shin, C. Faloutsos, "FRAUDAR: Bounding Graph
    Fraud in the Face of Camouflage", KDD 2016. An account's score is the density of the
    block it belongs to (0 outside every block); ``groups`` maps flagged accounts to their block.

    Parameters
    ----------
    interactions, timestamps, follows
        The family's engagement log (timestamps and follows are not used).
    seed
        Unused (the algorithm is deterministic); kept for the family convention.
    threshold
        Flag accounts scoring above it instead of every block member.
    **options
        Fields of :class:`FraudarConfig` (``blocks``, ``log_offset``).

    Examples
    --------
    >>> import scipy.sparse as sp, numpy as np
    >>> R = sp.random(50, 40, density=0.05, random_state=0, format="csr")
    >>> R[40:, :5] = 1.0
    >>> res = fraudar_hooi2016(R, blocks=1)
    >>> bool(res.flagged[40:].all())
    True
    """
    started = time.perf_counter()
    config = FraudarConfig(**options)
    eng = as_engagements(interactions, timestamps)
    scores = np.zeros(eng.n_users)
    groups = np.full(eng.n_users, -1)
    blocks = []
    for b, (rows, cols, density) in enumerate(fraudar_blocks(eng.binary(), config.blocks, config.log_offset)):
        blocks.append({"accounts": int(rows.size), "items": int(cols.size), "score": density})
        new = scores[rows] < density
        scores[rows[new]] = density
        groups[rows[new]] = b
    return account_result("fraudar_hooi2016", scores, scores > 0, groups=groups, config=asdict(config), seed=seed, started=started, threshold=threshold, blocks=blocks)
