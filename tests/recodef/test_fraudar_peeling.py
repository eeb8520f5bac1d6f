import numpy as np
import scipy.sparse as sp

from mlsiege.defenses.reco import fraudar


def test_block_and_dense_peeling_agree_on_ties(monkeypatch):
    # unit weights make many equal priorities: both paths must break ties the same way
    A = sp.random(120, 90, density=0.08, random_state=3, format="csr")
    A.data[:] = 1.0
    dense = fraudar.peel_densest(A), fraudar.fraudar_blocks(A, 3)
    monkeypatch.setattr(fraudar, "_DENSE_MAX_NODES", 0)
    blocks = fraudar.peel_densest(A), fraudar.fraudar_blocks(A, 3)
    for (r1, c1, d1), (r2, c2, d2) in zip([dense[0], *dense[1]], [blocks[0], *blocks[1]], strict=True):
        assert np.array_equal(r1, r2) and np.array_equal(c1, c2) and d1 == d2


def _greedy(W):
    """The published greedy, written plainly: pop the least (priority, rows-then-columns index)."""
    W = sp.csr_matrix(W)
    Wt = sp.csr_matrix(W.T)
    m, n = W.shape
    prio = list(np.asarray(W.sum(axis=1)).ravel()) + list(np.asarray(W.sum(axis=0)).ravel())
    alive = set(range(m + n))
    total = float(W.sum())
    best, best_step, order = total / (m + n), 0, []
    while any(v < m for v in alive) and any(v >= m for v in alive):
        node = min(alive, key=lambda v: (prio[v], v))
        total -= prio[node]
        alive.remove(node)
        order.append(node)
        nbrs = W[[node]] if node < m else Wt[[node - m]]
        for j, w in zip(nbrs.indices, nbrs.data, strict=True):
            prio[j + m if node < m else j] -= w
        if total / len(alive) > best:
            best, best_step = total / len(alive), len(order)
    kept = sorted(set(range(m + n)) - set(order[:best_step]))
    return [v for v in kept if v < m], [v - m for v in kept if v >= m], best


def test_peeling_matches_the_plain_greedy_with_ties():
    for seed in range(5):
        A = sp.random(40, 30, density=0.15, random_state=seed, format="csr")
        A.data[:] = 1.0
        rows, cols, density = fraudar.peel_densest(A)
        want_rows, want_cols, want_density = _greedy(A)
        assert rows.tolist() == want_rows and cols.tolist() == want_cols and density == want_density
