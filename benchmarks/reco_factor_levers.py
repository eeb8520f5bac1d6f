"""The levers the optimized attack pulls against factor models, and the block shapes it rejects, measured on the victims.

ALS, profile size against the ridge bound. An implicit-ALS item factor is a ridge fit, so a target engaged only by sybils gets
``sum_u (x_u . y_t)^2 <= n_sybils / 4`` over real users (docs/reco-attacks.md). For sybils that
engage the targets plus the ``n`` most popular items, this script retrains the reference ALS and
prints, per (sybil fraction, filler count), the sum of squared target scores over real users
(per target), the bound, the sybils' own fit ``x_s . y_t`` and the audience users reached per
target (target score above the user's 10th-best unseen item).

BPR, how many accounts engage. With 1% and 3% of the users as sybil accounts, of which 1/3, 2/3
or all engage (the rest idle) with bare target profiles or with the 5 most popular items added,
the reference BPR's hit ratio at 10 of the targets among the audience, under three victim seeds.

ALS, the shape of the sybil block. Every design below spends the same budget (the mean profile
per account) at 1% and 3% sybils; the victim's hit ratio at 10 among the audience is printed per
design, next to a ceiling from the fixed-factor model (``als-ceiling``): with the clean model's
real user factors X held fixed, a target factor ``y`` that ``n`` sybils can buy scores real user
``u`` at most ``sqrt(n)/2 * x_u.d / sqrt(d'(X'X + lambda I)d)`` in direction ``d`` (the ridge fit
of a column the sybils set to 1, at the best sybil factor scale); the best ``d`` found by
annealed L-BFGS on a smoothed hit count is the ceiling. Designs:

- ``favourites``: every sybil takes all targets plus the audience's favourites (the pod and the
  optimized attack's best design on the synthetic platform);
- ``split-k``: each sybil takes ``k`` of the 5 targets (rotating) plus favourites;
- ``subset-k``: every sybil takes the same ``k`` targets (the others are given up) plus favourites;
- ``decoys-2``: two cold non-target items in place of two favourites (a larger sybil-only block);
- ``clusters-3``: sybils split over 3 k-means clusters of the audience's clean factors, each
  taking its cluster's favourites;
- ``direction-matched``: fillers whose summed item factors best match (greedy least squares) the
  sybil factor the ceiling's direction asks for.

ALS, white-box filler search (``als-search``): how far the choice of favourites can move the
favourites block. A local search (swap, drop or add one of the audience's 150 favourites; moves
that do not lower the score are kept) scores each move on the victim model itself, which the
optimized attack cannot do, and prints the start and final hit ratios.

One JSON line per run ("lever": "als-fillers", "als-ceiling", "als-design", "als-search" or
"bpr-active").

    python benchmarks/reco_factor_levers.py --interactions FILE    # MovieLens-format log
    python benchmarks/reco_factor_levers.py                        # the synthetic feed platform
    python benchmarks/reco_factor_levers.py --levers als-designs   # one lever family only
"""

from __future__ import annotations

import argparse
import json
import warnings

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.evaluate import (
    cold_targets,
    default_engagements_per_sybil,
    hold_out_latest,
)
from mlsiege.attacks.reco.profiles import assemble
from mlsiege.metrics.reco import hit_ratio_at_k
from mlsiege.targets.recommenders import make_recommender
from mlsiege.targets.recommenders.serving import row_top_k

LEVERS = ("als-fillers", "als-designs", "als-search", "bpr-active")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--interactions", help="a MovieLens-format ratings file")
    parser.add_argument("--fillers", default="0,5,20,full")
    parser.add_argument("--levers", default=",".join(LEVERS), help=f"comma-separated subset of {', '.join(LEVERS)}")
    parser.add_argument("--search-steps", type=int, default=150, help="moves of the white-box als-search")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quick", action="store_true", help="the als-fillers lever only, fillers 0 and full")
    args = parser.parse_args()
    if args.quick:
        args.levers, args.fillers = "als-fillers", "0,full"
    levers = set(args.levers.split(","))
    if args.interactions:
        from mlsiege.datasets import load_movielens

        data = load_movielens(args.interactions)
        matrix, times, targets, audience, name = data.matrix, data.timestamps, None, None, args.interactions
    else:
        from reco_attacks import synthetic

        data = synthetic(args.seed)
        matrix, times, targets, name = data["matrix"], data["timestamps"], data["targets"], "synthetic-feed"
        audience = np.asarray(data["audience"], dtype=bool)
    train, _ = hold_out_latest(matrix, times)
    train.data[:] = 1.0
    n_users, n_items = train.shape
    targets = cold_targets(train, 5, args.seed) if targets is None else np.asarray(targets)
    popular = np.argsort(-np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    popular = popular[~np.isin(popular, targets)]
    full = default_engagements_per_sybil(train, targets.size) - targets.size
    if "als-designs" in levers:
        for fraction in (0.01, 0.03):
            als_designs(train, targets, audience, max(1, round(fraction * n_users)), full, name, fraction, args.seed)
    for fraction in (0.01, 0.03) if "als-search" in levers else ():
        als_search(train, targets, audience, max(1, round(fraction * n_users)), full, name, fraction, args.seed, args.search_steps)
    for fraction in (0.01, 0.03) if "als-fillers" in levers else ():
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

    users = np.arange(n_users)
    for fraction in (0.01, 0.03) if "bpr-active" in levers else ():
        n_sybils = max(1, round(fraction * n_users))
        for active in sorted({max(1, n_sybils // 3), (2 * n_sybils) // 3, n_sybils}):
            for n_fill in (0, 5):
                fillers = np.broadcast_to(popular[:n_fill], (active, n_fill))
                rows = assemble(n_items, targets, fillers, target_rating=1.0, filler_ratings=1.0)
                poisoned = sp.vstack([train, rows], format="csr")
                hr = []
                for seed in (args.seed, args.seed + 1, args.seed + 2):
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        model = make_recommender("bpr", seed=seed).fit(poisoned)
                    hr.append(round(hit_ratio_at_k(model.recommend(users, 10), targets, poisoned, users, audience=audience, k=10), 4))
                print(json.dumps({"lever": "bpr-active", "dataset": name, "sybil_fraction": fraction, "n_sybils": n_sybils,
                                  "active": active, "fillers": n_fill, "hr_at_10_per_victim_seed": hr}), flush=True)


def _fit_als(matrix: sp.csr_matrix, seed: int):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make_recommender("als", seed=seed).fit(matrix)


def _tenth_best(model, train: sp.csr_matrix, users: np.ndarray, targets: np.ndarray) -> np.ndarray:
    """Each user's 10th-best unseen non-target score."""
    scores = model.user_factors_[users].astype(np.float64) @ model.item_factors_.T.astype(np.float64)
    seen = train[users]
    scores[np.repeat(np.arange(users.size), np.diff(seen.indptr)), seen.indices] = -np.inf
    scores[:, targets] = -np.inf
    return row_top_k(scores.astype(np.float32), 10)[1][:, -1].astype(np.float64)


def _ceiling_direction(x: np.ndarray, gram: np.ndarray, tenth: np.ndarray, open_: np.ndarray, n: int, seed: int) -> tuple[np.ndarray, float]:
    """The target-factor direction that reaches the most users in the fixed-factor model."""
    from scipy.optimize import minimize

    def reach(d: np.ndarray) -> np.ndarray:
        return np.sqrt(n) / 2 * (x @ d) / np.sqrt(d @ gram @ d)

    def loss(d: np.ndarray, temperature: float) -> float:
        z = np.clip((reach(d) - tenth) / temperature, -50, 50)
        return -float(np.sum(open_ / (1.0 + np.exp(-z))))

    rng = np.random.default_rng(seed)
    starts = [np.linalg.solve(gram, x[open_].sum(axis=0))]
    starts += [np.linalg.solve(gram, x[rng.choice(x.shape[0], 20)].sum(axis=0)) for _ in range(6)]
    best, best_hits = starts[0], -1.0
    for d in starts:
        for t in (0.5, 0.2, 0.08, 0.03):
            d = minimize(loss, d, args=(t * float(np.median(tenth)),), method="L-BFGS-B", options={"maxiter": 200}).x
        hits = float(((reach(d) > tenth) & open_).mean())
        if hits > best_hits:
            best, best_hits = d, hits
    return best, best_hits


def als_designs(train: sp.csr_matrix, targets: np.ndarray, audience: np.ndarray | None, n_sybils: int, n_fill: int, name: str, fraction: float, seed: int) -> None:
    """The ``als-ceiling`` line and one ``als-design`` line per block shape (module docstring)."""
    from sklearn.cluster import KMeans

    n_users, n_items = train.shape
    aud = np.arange(n_users) if audience is None else np.flatnonzero(audience)
    open_ = (train[aud][:, targets].toarray() == 0).all(axis=1)
    clean = _fit_als(train, seed + 1)  # the attacker's own fit
    x, y = clean.user_factors_.astype(np.float64), clean.item_factors_.astype(np.float64)
    lam = np.eye(x.shape[1]) * 10.0
    gram_users, gram_items = x.T @ x + lam, y.T @ y + lam
    tenth = _tenth_best(clean, train, aud, targets)
    d, ceiling = _ceiling_direction(x[aud], gram_users, tenth, open_, n_sybils, seed)
    print(json.dumps({"lever": "als-ceiling", "dataset": name, "sybil_fraction": fraction, "n_sybils": n_sybils,
                      "hr_ceiling": round(ceiling, 4)}), flush=True)
    counts = np.asarray(train[aud].sum(axis=0)).ravel().astype(float)
    counts[targets] = -1.0
    favourites = np.argsort(-counts, kind="stable")
    cold = np.argsort(np.asarray(train.sum(axis=0)).ravel(), kind="stable")
    cold = cold[~np.isin(cold, targets)]
    # direction-matched fillers: greedy least squares on summed item factors
    wanted = gram_users @ d
    wanted /= np.linalg.norm(wanted)
    scale = 1.0 / np.sqrt(n_sybils * (wanted @ np.linalg.solve(gram_users, wanted)))
    target_factor = np.sqrt(n_sybils) / 2 * d / np.sqrt(d @ gram_users @ d)
    goal = scale * (gram_items @ wanted) - targets.size * target_factor
    matched, total, pool = [], np.zeros_like(goal), np.setdiff1d(np.arange(n_items), targets)
    for _ in range(n_fill):
        err = np.linalg.norm(total + y[pool] - goal, axis=1)
        j = int(np.argmin(err))
        if err[j] >= np.linalg.norm(total - goal):
            break
        matched.append(pool[j])
        total += y[pool[j]]
        pool = np.delete(pool, j)
    labels = KMeans(3, n_init=3, random_state=seed).fit_predict(x[aud])

    def cluster_favourites(c: int) -> np.ndarray:
        w = np.asarray(train[aud[labels == c]].sum(axis=0)).ravel().astype(float)
        w[targets] = -1.0
        return np.argsort(-w, kind="stable")[:n_fill]

    share = np.bincount(labels, minlength=3) / labels.size
    cluster_of = np.minimum(np.searchsorted(np.cumsum(share), (np.arange(n_sybils) + 0.5) / n_sybils), 2)
    designs = {
        "favourites": [(targets, favourites[:n_fill])] * n_sybils,
        **{f"split-{k}": [(targets[(np.arange(k) + s) % targets.size], favourites[: n_fill + targets.size - k])
                          for s in range(n_sybils)] for k in (1, 2, 4)},
        **{f"subset-{k}": [(targets[:k], favourites[: n_fill + targets.size - k])] * n_sybils for k in (1, 2)},
        "decoys-2": [(targets, np.r_[cold[:2], favourites[: n_fill - 2]])] * n_sybils,
        "clusters-3": [(targets, cluster_favourites(c)) for c in cluster_of],
        "direction-matched": [(targets, np.asarray(matched, dtype=np.int64))] * n_sybils,
    }
    for label, profile in designs.items():
        cols = [np.r_[t, f] for t, f in profile]
        rows = sp.csr_matrix((np.ones(sum(c.size for c in cols), dtype=np.float32),
                              (np.repeat(np.arange(n_sybils), [c.size for c in cols]), np.concatenate(cols))),
                             shape=(n_sybils, n_items))
        poisoned = sp.vstack([train, rows], format="csr")
        model = _fit_als(poisoned, seed)
        users = np.arange(n_users)
        hr = hit_ratio_at_k(model.recommend(users, 10), targets, train, users, audience=audience, k=10)
        line = {"lever": "als-design", "dataset": name, "sybil_fraction": fraction, "n_sybils": n_sybils,
                "design": label, "engagements": int(rows.nnz), "hr_at_10": round(float(hr), 4)}
        if label == "direction-matched":  # where the targets' factor went, in the clean model's frame
            from scipy.linalg import orthogonal_procrustes

            still = np.setdiff1d(np.arange(n_items), np.r_[targets, matched])
            rotation, _ = orthogonal_procrustes(model.item_factors_[still].astype(np.float64), y[still])
            realized = (model.item_factors_[targets].astype(np.float64) @ rotation).mean(axis=0)
            line["target_factor_cosine_to_planned"] = round(float(realized @ target_factor / (np.linalg.norm(realized) * np.linalg.norm(target_factor))), 3)
            line["target_factor_norm"] = round(float(np.linalg.norm(realized)), 3)
            line["planned_norm"] = round(float(np.linalg.norm(target_factor)), 3)
        print(json.dumps(line), flush=True)


def als_search(train: sp.csr_matrix, targets: np.ndarray, audience: np.ndarray | None, n_sybils: int, n_fill: int, name: str, fraction: float, seed: int, steps: int) -> None:
    """The ``als-search`` line: local search on the shared filler set, scored on the victim."""
    n_users, n_items = train.shape
    aud = np.arange(n_users) if audience is None else np.flatnonzero(audience)
    counts = np.asarray(train[aud].sum(axis=0)).ravel().astype(float)
    counts[targets] = -1.0
    pool = np.argsort(-counts, kind="stable")[:150]
    users = np.arange(n_users)

    def victim(fillers: list[int]) -> float:
        rows = assemble(n_items, targets, np.broadcast_to(np.asarray(fillers, dtype=np.int64), (n_sybils, len(fillers))),
                        target_rating=1.0, filler_ratings=1.0)
        model = _fit_als(sp.vstack([train, rows], format="csr"), seed)
        return float(hit_ratio_at_k(model.recommend(users, 10), targets, train, users, audience=audience, k=10))

    rng = np.random.default_rng(seed)
    chosen = [int(j) for j in pool[:n_fill]]
    start = best = victim(chosen)
    for _ in range(steps):
        trial = list(chosen)
        free = pool[~np.isin(pool, trial)]
        move = int(rng.integers(3)) if len(trial) < n_fill else int(rng.integers(2))
        if move == 0:
            trial[int(rng.integers(len(trial)))] = int(rng.choice(free))
        elif move == 1 and len(trial) > 1:
            trial.pop(int(rng.integers(len(trial))))
        elif len(trial) < n_fill:
            trial.append(int(rng.choice(free)))
        else:
            continue
        score = victim(trial)
        if score >= best:
            chosen, best = trial, score
    print(json.dumps({"lever": "als-search", "dataset": name, "sybil_fraction": fraction, "n_sybils": n_sybils, "steps": steps,
                      "hr_at_10_start": round(start, 4), "hr_at_10_final": round(best, 4), "fillers": len(chosen)}), flush=True)


if __name__ == "__main__":
    main()
