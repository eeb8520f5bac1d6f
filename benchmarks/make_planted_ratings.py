"""Write the planted ratings file of the FRAUDAR comparison in ``docs/benchmarks.md``.

943 accounts x 1,682 items (the shape of MovieLens 100k): 934 real accounts with lognormal
activity (clipped to 20-700 items each) rating popularity-skewed items (Zipf exponent 1), plus 9
planted accounts that all rate the same 3 new items (rated by nobody else) and 40 items drawn
from the 200 most popular. Ratings 1-5, timestamps spread over a year. Tab-separated
``user item rating timestamp`` with ids from 1; deterministic for a seed.

    python benchmarks/make_planted_ratings.py planted.data
    python benchmarks/reco_detection.py --interactions planted.data --fraudar-only
"""

from __future__ import annotations

import argparse

import numpy as np


def planted(seed: int = 0, users: int = 934, items: int = 1682, sybils: int = 9) -> np.ndarray:
    """``(n, 4)`` integer rows ``user item rating timestamp``; the planted accounts are the last ``sybils`` ids."""
    rng = np.random.default_rng(seed)
    new_items = np.arange(items - 3, items)  # nobody but the planted accounts rates these
    catalogue = items - 3
    popularity = 1.0 / np.arange(1, catalogue + 1)
    order = rng.permutation(catalogue)  # item ids are not sorted by popularity
    p = np.empty(catalogue)
    p[order] = popularity / popularity.sum()
    degree = np.clip(np.exp(rng.normal(np.log(80), 0.9, users)), 20, 700).astype(int)
    rows = []
    for u, k in enumerate(degree):
        chosen = rng.choice(catalogue, k, replace=False, p=p)
        rows.append(np.column_stack([np.full(k, u), chosen]))
    top = order[:200]
    for s in range(sybils):
        chosen = np.concatenate([new_items, rng.choice(top, 40, replace=False)])
        rows.append(np.column_stack([np.full(len(chosen), users + s), chosen]))
    pairs = np.vstack(rows)
    rating = np.clip(np.round(rng.normal(3.5, 1.0, len(pairs))), 1, 5).astype(int)
    stamp = 880_000_000 + rng.integers(0, 365 * 86_400, len(pairs))
    return np.column_stack([pairs[:, 0] + 1, pairs[:, 1] + 1, rating, stamp])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="file to write")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    np.savetxt(args.out, planted(args.seed), fmt="%d", delimiter="\t")


if __name__ == "__main__":
    main()
