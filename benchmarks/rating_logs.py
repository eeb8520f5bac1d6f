"""An in-repository explicit-rating log generator with classic push profiles (the ``builtin`` generator).

    python benchmarks/rating_logs.py OUT_PREFIX --attack average|random|bandwagon|segment|none \
        --size 0.05 --filler 0.03 --seed 0

writes OUT_PREFIX.ratings (comma-separated ``user,item,rating`` with a header, half-star ratings
0.5-5, string ids ``u123``/``m45``, lines shuffled) and OUT_PREFIX.labels (``user label``).
It differs on purpose from ``../shared/acceptance/gen/ratings.py`` so a figure that holds on both
does not hold by one generator's accident: MovieLens-100k-like shape (943 users, 1682 items),
Zipf popularity with exponent 1.0, 6 taste factors, genre-like item clusters, half-star ratings,
real profile lengths from a heavier-tailed lognormal (down to 10 ratings, power raters up to a
third of the catalogue), and a ``segment`` attack (Mobasher et al. 2005: the target and the items
of its cluster at 5, fillers at the minimum) besides random, average and bandwagon (Lam & Riedl
2004; Burke et al. 2005). Shilling profiles push one target with average rating below the mean.
"""

from __future__ import annotations

import argparse

import numpy as np


def real_log(rng: np.random.Generator, n_users: int, n_items: int, k: int = 6):
    pop = 1.0 / np.arange(1, n_items + 1) ** 1.0
    rng.shuffle(pop)
    cluster = rng.integers(0, 12, n_items)
    centres = rng.normal(0, 0.7, (12, k))
    q = centres[cluster] + rng.normal(0, 0.3, (n_items, k))
    p = rng.normal(0, 0.5, (n_users, k))
    bu, bi = rng.normal(0, 0.5, n_users), rng.normal(0, 0.5, n_items) + 0.2 * np.log(pop / pop.mean()) / np.log(10)
    n = np.clip(rng.lognormal(np.log(40), 1.1, n_users).astype(int), 10, n_items // 3)
    us, its, rs = [], [], []
    for u in range(n_users):
        taste = q @ p[u]
        w = pop * np.exp(taste)
        items = rng.choice(n_items, n[u], replace=False, p=w / w.sum())
        r = 3.5 + bu[u] + bi[items] + taste[items] + rng.normal(0, 0.8, n[u])
        us.append(np.full(n[u], u)), its.append(items), rs.append(np.clip(np.rint(r * 2) / 2, 0.5, 5.0))
    return np.concatenate(us), np.concatenate(its), np.concatenate(rs), cluster


def shill(rng, u, i, r, n_users, n_items, cluster, kind, size, filler):
    counts = np.bincount(i, minlength=n_items)
    sums = np.bincount(i, weights=r, minlength=n_items)
    mean = np.where(counts > 0, sums / np.maximum(counts, 1), r.mean())
    sd = r.std()
    target = rng.choice(np.flatnonzero((counts >= 3) & (counts <= 40) & (mean < r.mean())))
    popular = np.argsort(-counts, kind="stable")[:8]
    segment = np.setdiff1d(np.flatnonzero(cluster == cluster[target]), [target])[:6]
    n_att, nf = int(round(size * n_users)), max(1, int(round(filler * n_items)))
    taken = {"bandwagon": popular, "segment": segment}.get(kind, np.zeros(0, int))
    others = np.setdiff1d(np.arange(n_items), np.r_[target, taken])
    au, ai, ar = [], [], []
    for a in range(n_att):
        f = rng.choice(others, nf, replace=False)
        fr = {"average": rng.normal(mean[f], sd), "segment": np.full(nf, 0.5)}.get(kind, rng.normal(r.mean(), sd, nf))
        items, ratings = np.r_[target, f, taken], np.r_[5.0, fr, np.full(taken.size, 5.0)]
        au.append(np.full(items.size, n_users + a)), ai.append(items), ar.append(np.clip(np.rint(ratings * 2) / 2, 0.5, 5.0))
    return np.concatenate(au), np.concatenate(ai), np.concatenate(ar), n_att


def write(prefix: str, attack: str, size: float, filler: float, seed: int, n_users: int = 943, n_items: int = 1682) -> None:
    """Generate one log and its labels (see the module docstring)."""
    rng = np.random.default_rng(seed)
    u, i, r, cluster = real_log(rng, n_users, n_items)
    n_att = 0
    if attack != "none":
        su, si, sr, n_att = shill(rng, u, i, r, n_users, n_items, cluster, attack, size, filler)
        u, i, r = np.r_[u, su], np.r_[i, si], np.r_[r, sr]
    ids = rng.permutation(n_users + n_att) + 1
    order = rng.permutation(u.size)
    with open(prefix + ".ratings", "w") as fh:
        fh.write("user,item,rating\n")
        for a, b, c in zip(ids[u[order]], i[order] + 1, r[order], strict=True):
            fh.write(f"u{a},m{b},{c:g}\n")
    with open(prefix + ".labels", "w") as fh:
        for k in range(n_users + n_att):
            fh.write(f"u{ids[k]} {int(k >= n_users)}\n")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--attack", default="average", choices=["average", "random", "bandwagon", "segment", "none"])
    ap.add_argument("--size", type=float, default=0.05)
    ap.add_argument("--filler", type=float, default=0.03)
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    write(a.out, a.attack, a.size, a.filler, a.seed)


if __name__ == "__main__":
    main()
