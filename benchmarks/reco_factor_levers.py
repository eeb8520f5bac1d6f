"""The two levers the optimized attack pulls against factor models, measured on the victims.

ALS, profile size against the ridge bound. An implicit-ALS item factor is a ridge fit, so a target engaged only by sybils gets
``sum_u (x_u . y_t)^2 <= n_sybils / 4`` over real users (docs/reco-attacks.md). For sybils that
engage the targets plus the ``n`` most popular items, this script retrains the reference ALS and
prints, per (sybil fraction, filler count), the sum of squared target scores over real users
(per target), the bound, the sybils' own fit ``x_s . y_t`` and the audience users reached per
target (target score above the user's 10th-best unseen item).

BPR, how many accounts engage. With 3% of the users as sybil accounts, of which 1/3, 2/3 or all
engage with bare target profiles (the rest idle), the reference BPR's hit ratio at 10 of the
targets among real users, under three victim seeds.

One JSON line per run ("lever": "als-fillers" or "bpr-active").

    python benchmarks/reco_factor_levers.py --interactions FILE    # MovieLens-format log
    python benchmarks/reco_factor_levers.py                        # the synthetic feed platform
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.evaluate import cold_targets, hold_out_latest
from mlsiege.attacks.reco.profiles import assemble
from mlsiege.metrics.reco import hit_ratio_at_k
from mlsiege.targets.recommenders import make_recommender
from mlsiege.targets.recommenders.serving import row_top_k


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", help="a MovieLens-format ratings file")
    parser.add_argument("--fillers", default="0,5,20,full")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    if args.interactions:
        from mlsiege.datasets import load_movielens

        data = load_movielens(args.interactions)
        matrix, times, targets, name = data.matrix, data.timestamps, None, args.interactions
    else:
        from reco_attacks import synthetic

        data = synthetic(args.seed)
        matrix, times, targets, name = data["matrix"], data["timestamps"], data["targets"], "synthetic-feed"
    train, _ = hold_out_latest(matrix, times)
    train.data[:] = 1.0
    n_users, n_items = train.shape
    targets = cold_targets(train, 5, args.seed) if targets is None else np.asarray(targets)
    popular = np.argsort(-np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    popular = popular[~np.isin(popular, targets)]
    full = int(np.clip(round(train.nnz / n_users), targets.size + 1, 200)) - targets.size
    for fraction in (0.01, 0.03):
        n_sybils = max(1, round(fraction * n_users))
        for fill in args.fillers.split(","):
            n = full if fill == "full" else int(fill)
            fillers = np.broadcast_to(popular[:n], (n_sybils, n))
            rows = assemble(n_items, targets, fillers, target_rating=1.0, filler_ratings=1.0)
            poisoned = sp.vstack([train, rows], format="csr")
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_recommender("als", seed=args.seed).fit(poisoned)
            x = model.user_factors_.astype(np.float64)
            y = model.item_factors_.astype(np.float64)
            real, sybil = x[:n_users], x[n_users:]
            scores = real @ y[targets].T
            everything = real @ y.T
            everything[np.repeat(np.arange(n_users), np.diff(train.indptr)), train.indices] = -np.inf
            everything[:, targets] = -np.inf
            tenth = row_top_k(everything.astype(np.float32), 10)[1][:, -1]
            unseen = train[:, targets].toarray() == 0
            print(json.dumps({
                "lever": "als-fillers", "dataset": name, "sybil_fraction": fraction, "n_sybils": n_sybils, "fillers": n,
                "sum_sq_scores_per_target": np.round((scores**2).sum(axis=0), 3).tolist(),
                "bound": n_sybils / 4,
                "sybil_fit": round(float((sybil @ y[targets].T).mean()), 3),
                "users_reached_per_target": ((scores > tenth[:, None]) & unseen).sum(axis=0).tolist(),
            }), flush=True)

    n_sybils = max(1, round(0.03 * n_users))
    users = np.arange(n_users)
    for active in sorted({max(1, n_sybils // 3), (2 * n_sybils) // 3, n_sybils}):
        rows = assemble(n_items, targets, np.empty((active, 0), dtype=np.int64), target_rating=1.0)
        poisoned = sp.vstack([train, rows], format="csr")
        hr = []
        for seed in (args.seed, args.seed + 1, args.seed + 2):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = make_recommender("bpr", seed=seed).fit(poisoned)
            hr.append(round(hit_ratio_at_k(model.recommend(users, 10), targets, poisoned, users, k=10), 4))
        print(json.dumps({"lever": "bpr-active", "dataset": name, "sybil_fraction": 0.03, "n_sybils": n_sybils,
                          "active": active, "hr_at_10_per_victim_seed": hr}), flush=True)


if __name__ == "__main__":
    main()
