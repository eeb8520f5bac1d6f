"""Strength of the sybil attacks: each attack at 1% and 3% sybils, static retrain, hit ratio@10.

Datasets: the feed simulator's platform (history before round 0; the targets are an attacker's
fresh posts on one topic, the audience the users most interested in that topic) and, with
``--interactions FILE``, any MovieLens-format file (targets: 5 items from the least popular
quartile, audience: every real user). Prints one JSON line per run, then one summary line per
(dataset, recommender, fraction) with the best classic heuristic, the best of audience-mimicry /
optimized, and their ratio. ``--quick``: item-kNN only. ``--victim-seeds N``: every figure is the
mean over N victim seeds (the attack's own seed stays ``--seed``); ``seconds`` is the slowest run.

Anchor: RecAD 0.0.2, the issue's named library, from its own package (``pip install -e
".[bench-recad]"``; see ``recad_anchor.py``). Its attackers (random, average, bandwagon, segment and
the learned AUSH by default; ``--anchor-attacks`` picks others) build profiles on the same training
split, and the same harness injects and scores them, so each summary line also carries the best
RecAD attack and our best attack's ratio to it. RecAD downloads no data here: the rows are passed
in memory. ``--anchor none`` skips it; ``auto`` (the default) runs it when it is installed and
prints one ``{"anchor": ..., "skipped": reason}`` line when it is not. ``--anchor-workflow`` also
times RecAD's own whole run (its MF victim trained for its CLI default of 100 epochs, bandwagon at
1%, inject, retrain, its own evaluation) once per dataset: the speed anchor for our static run.
"""

from __future__ import annotations

import argparse
import json
import sys

import numpy as np
import scipy.sparse as sp

from mlsiege.attacks.reco.evaluate import (
    cold_targets,
    default_engagements_per_sybil,
    evaluate_static_attack,
    hold_out_latest,
)
from mlsiege.cli.reco_cmd import ATTACKS
from mlsiege.scenarios.feed_injection import plant_targets
from mlsiege.sim.feed import FeedConfig, initial_history, make_population
from mlsiege.targets.recommenders import make_recommender
from recad_anchor import VERSION, AnchorUnavailable, recad_recipes, recad_workflow

CLASSIC = ("random", "average", "bandwagon", "segment")
STRONG = ("audience-mimicry", "optimized", "gradient")


def synthetic(seed: int = 0) -> dict:
    config = FeedConfig(n_users=2000, n_items=1500)
    pop = make_population(config, seed)
    pop, targets, audience = plant_targets(pop, 5, 0.8, seed)
    u, i, t = initial_history(pop, config, np.random.default_rng([seed, 0]))
    matrix = sp.csr_matrix((np.ones(u.size, dtype=np.float32), (u, i)), shape=(pop.n_users, pop.n_items))
    matrix.data[:] = 1.0
    # latest time per pair, stored like the matrix
    order = np.lexsort((t, i, u))
    last = np.r_[(u[order][1:] != u[order][:-1]) | (i[order][1:] != i[order][:-1]), True]
    times = sp.csr_matrix((t[order][last] - t.min() + 1.0, (u[order][last], i[order][last])), shape=matrix.shape)
    return {"name": "synthetic-feed", "matrix": matrix, "timestamps": times, "targets": targets, "audience": audience, "follows": pop.follows}


def from_file(path: str) -> dict:
    from mlsiege.datasets import load_movielens

    data = load_movielens(path)
    return {"name": path, "matrix": data.matrix, "timestamps": data.timestamps, "targets": None, "audience": None, "follows": None}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="item-knn only")
    parser.add_argument("--interactions", help="a MovieLens-format ratings file")
    parser.add_argument("--recommenders", default="item-knn,als,bpr,social")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--anchor", choices=("auto", "recad", "none"), default="auto",
                        help="run RecAD's attackers in the same harness (auto: when installed)")
    parser.add_argument("--anchor-attacks", default="random,average,bandwagon,segment,aush")
    parser.add_argument("--anchor-epochs", type=int, default=100, help="training passes of RecAD's learned attackers")
    parser.add_argument("--anchor-workflow", action="store_true",
                        help="also time RecAD's own whole run (its MF victim, bandwagon, 1%%) once per dataset")
    parser.add_argument("--victim-seeds", type=int, default=1,
                        help="fit the victim with seeds seed..seed+N-1 and report mean hit ratios (BPR varies with its seed)")
    args = parser.parse_args()
    if args.victim_seeds < 1:
        parser.error("--victim-seeds must be >= 1")
    anchors = load_anchor(args)
    datasets = [synthetic(args.seed)] + ([from_file(args.interactions)] if args.interactions else [])
    recommenders = ["item-knn"] if args.quick else args.recommenders.split(",")
    for data in datasets:
        for rec in recommenders:
            for fraction in (0.01, 0.03):
                rows = {}
                for name, recipe in {**ATTACKS, **anchors}.items():
                    try:
                        runs = [evaluate_static_attack(
                            recipe, lambda rec=rec, v=v: make_recommender(rec, seed=v), data["matrix"],
                            timestamps=data["timestamps"], sybil_fraction=fraction, n_targets=5, targets=data["targets"],
                            audience=data["audience"], follows=data["follows"] if rec == "social" else None,
                            seed=args.seed, recommender=rec,
                        ) for v in range(args.seed, args.seed + args.victim_seeds)]
                    except Exception as exc:
                        if name not in anchors:
                            raise
                        # a failing anchor attack is reported and left out; our rows stand
                        print(json.dumps({"dataset": data["name"], "recommender": rec, "attack": name, "anchor": VERSION,
                                          "sybil_fraction": fraction, "error": f"{type(exc).__name__}: {exc}"}), flush=True)
                        continue
                    out = runs[0]
                    row = {"dataset": data["name"], "recommender": rec, "attack": name, "sybil_fraction": fraction,
                           **({"anchor": VERSION} if name in anchors else {}),
                           **{k: out[k] for k in ("users", "items", "engagements", "n_sybils", "engagements_per_sybil")},
                           **{k: float(np.mean([r[k] for r in runs])) for k in (
                               "hr_at_10_clean", "hr_at_10_attacked", "ndcg_at_10_clean", "ndcg_at_10_attacked")},
                           "seconds": max(r["seconds"] for r in runs)}
                    if args.victim_seeds > 1:
                        row["hr_at_10_attacked_per_victim_seed"] = [r["hr_at_10_attacked"] for r in runs]
                    rows[name] = row
                    print(json.dumps(row), flush=True)
                    print(f"{data['name']} {rec} {fraction} {name}: {row['hr_at_10_attacked']:.4f}", file=sys.stderr)
                best_classic = max(CLASSIC, key=lambda a: rows[a]["hr_at_10_attacked"])
                best_strong = max(STRONG, key=lambda a: rows[a]["hr_at_10_attacked"])
                c, s = rows[best_classic]["hr_at_10_attacked"], rows[best_strong]["hr_at_10_attacked"]
                summary = {
                    "summary": True, "dataset": data["name"], "recommender": rec, "sybil_fraction": fraction,
                    "best_classic": best_classic, "best_classic_hr": c, "best_strong": best_strong, "best_strong_hr": s,
                    "ratio": s / c if c > 0 else None,
                    "max_seconds": max(r["seconds"] for n, r in rows.items() if n not in anchors),
                }
                ran = [a for a in anchors if a in rows]
                if ran:
                    best_anchor = max(ran, key=lambda a: rows[a]["hr_at_10_attacked"])
                    a = rows[best_anchor]["hr_at_10_attacked"]
                    summary.update(best_anchor=best_anchor, best_anchor_hr=a, ratio_vs_anchor=s / a if a > 0 else None,
                                   anchor_max_seconds=max(rows[n]["seconds"] for n in ran))
                print(json.dumps(summary), flush=True)
        if args.anchor_workflow and anchors:
            try:
                print(json.dumps({"dataset": data["name"], **anchor_workflow(data, args.seed)}), flush=True)
            except Exception as exc:  # RecAD's own failure must not lose the rows printed above
                print(json.dumps({"dataset": data["name"], "anchor": VERSION, "workflow": "no defense",
                                  "error": f"{type(exc).__name__}: {exc}"}), flush=True)


def anchor_workflow(data: dict, seed: int) -> dict:
    """RecAD's whole run at 1% on the split, targets and budget our static runs use."""
    train, _ = hold_out_latest(data["matrix"], data["timestamps"])
    n_users = train.shape[0]
    targets = cold_targets(train, 5, seed) if data["targets"] is None else np.asarray(data["targets"])
    per_sybil = default_engagements_per_sybil(train, targets.size)
    return recad_workflow(train, targets=targets, n_sybils=max(1, round(0.01 * n_users)), engagements_per_sybil=per_sybil, seed=seed)


def load_anchor(args: argparse.Namespace) -> dict:
    """RecAD's recipes, or none (with a JSON line saying why) when ``auto`` finds it missing."""
    if args.anchor == "none":
        return {}
    try:
        return recad_recipes(tuple(args.anchor_attacks.split(",")), epochs=args.anchor_epochs)
    except AnchorUnavailable as exc:
        if args.anchor == "recad":
            sys.exit(str(exc))
        print(json.dumps({"anchor": VERSION, "skipped": str(exc)}), flush=True)
        return {}


if __name__ == "__main__":
    main()
