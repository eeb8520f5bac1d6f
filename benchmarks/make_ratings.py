"""Write the MovieLens-format ratings file the recommender benchmarks use (``ml.data``).

2,000 users and 1,500 items with power-law activity (exponent 0.5) and popularity (0.9), shuffled;
100,000 distinct (user, item) pairs drawn without replacement with probability proportional to
activity x popularity; ratings ~ N(3.6, 1) rounded into 1..5; timestamps increasing from
880,000,000. Tab-separated ``user item rating timestamp``, ids from 1, like MovieLens 100k's
``u.data``. Deterministic for a seed (default 7: the file ``docs/benchmarks.md`` reports on, the
same the feed acceptance check writes).

    python benchmarks/make_ratings.py ml.data
"""

from __future__ import annotations

import argparse

import numpy as np


def ratings(seed: int = 7, users: int = 2000, items: int = 1500, n: int = 100_000) -> np.ndarray:
    """``(n, 4)`` integer rows ``user item rating timestamp`` (ids from 1)."""
    rng = np.random.default_rng(seed)
    popularity = 1.0 / np.arange(1, items + 1) ** 0.9
    rng.shuffle(popularity)
    activity = 1.0 / np.arange(1, users + 1) ** 0.5
    rng.shuffle(activity)
    weight = np.outer(activity, popularity).ravel()
    weight /= weight.sum()
    user, item = np.divmod(rng.choice(users * items, n, replace=False, p=weight), items)
    rating = np.clip(np.round(rng.normal(3.6, 1.0, n)), 1, 5).astype(int)
    stamp = 880_000_000 + np.sort(rng.integers(0, 10**7, n))
    return np.column_stack([user + 1, item + 1, rating, stamp])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", help="file to write")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    np.savetxt(args.out, ratings(args.seed), fmt="%d", delimiter="\t")


if __name__ == "__main__":
    main()
