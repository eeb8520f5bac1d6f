"""Scale of one feed round: retrain + top-50 for every user at 50k users / 10k items / 1M engagements.

Prints one JSON line per recommender: {"recommender", "users", "items", "engagements",
"retrain_s", "serve_s", "seconds"}. The engagement log is the feed simulator's history (topic
interests, heavy-tailed activity, follow graph). ``--quick`` runs item-kNN only.

Anchor: the issue's context figure (RecAD 0.0.2, 323 s for one ml-100k run on 2 cores) is not
re-run here: it downloads data at run time. The reference is the 20 s goal.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from dataclasses import replace

import numpy as np

from mlsiege.sim.feed import FeedConfig, initial_history, make_population
from mlsiege.targets.recommenders import make_recommender
from mlsiege.targets.recommenders.factors import DEFAULTS, ImplicitRecommender


def platform(users: int, items: int, engagements: int, seed: int = 0):
    import scipy.sparse as sp

    config = FeedConfig(n_users=users, n_items=items, initial_engagements=engagements / users * 1.36, new_item_fraction=0.0)
    pop = make_population(config, seed)
    u, i, _ = initial_history(pop, config, np.random.default_rng(seed))
    matrix = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=(users, items))
    matrix.data[:] = 1.0
    return matrix, pop.follows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="item-knn only")
    parser.add_argument("--users", type=int, default=50_000)
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--engagements", type=int, default=1_000_000)
    parser.add_argument("--k", type=int, default=50)
    args = parser.parse_args()
    t0 = time.perf_counter()
    matrix, follows = platform(args.users, args.items, args.engagements)
    print(f"platform built in {time.perf_counter() - t0:.1f} s: {matrix.nnz} engagements", file=sys.stderr)
    names = ["item-knn"] if args.quick else ["item-knn", "popularity", "als", "bpr", "bpr-threaded", "social"]
    users = np.arange(args.users)
    for name in names:
        if name == "bpr-threaded":  # every core: faster, but lock-free SGD is not reproducible
            model = ImplicitRecommender("bpr", replace(DEFAULTS["bpr"], threads=0), seed=0)
        else:
            model = make_recommender(name, seed=0)
        t0 = time.perf_counter()
        model.fit(matrix, follows)
        retrain = time.perf_counter() - t0
        t0 = time.perf_counter()
        recs = model.recommend(users, args.k)
        serve = time.perf_counter() - t0
        assert recs.shape == (args.users, args.k)
        print(json.dumps({
            "recommender": name, "users": args.users, "items": args.items, "engagements": int(matrix.nnz),
            "k": args.k, "retrain_s": round(retrain, 3), "serve_s": round(serve, 3), "seconds": round(retrain + serve, 3),
        }), flush=True)


if __name__ == "__main__":
    main()
