"""Coordinated-engagement detection on synthetic platforms with planted campaigns.

For each campaign (1% sybils; 1, 3 and 10 targets; plain, camouflage or audience mimicry) every
mlsiege reco detector runs on the engagement log; its threshold comes from its false-positive
budget on a campaign-free platform generated with another seed (never from the labels it is
scored against). Each row: detection precision / recall / FPR on real accounts (and on the
benign coordinated groups), target exposure reduction and benign recall@50 lost when an item-kNN
recommender is retrained without the flagged accounts, and seconds. The reference FRAUDAR
(rgmining-fraudar, GPL) runs from a throwaway venv in a subprocess, never imported here.

    python benchmarks/reco_detection.py --quick
    python benchmarks/reco_detection.py --interactions ml-100k/u.data
    python benchmarks/reco_detection.py --fraudar-only   # only our FRAUDAR vs the reference

Labelled explicit-rating logs (see ``benchmarks/reco_ratings_eval.py``): every rating detector,
the default ensemble and the anchors (reference FRAUDAR, top-k degree, plain RDMA, PCA-VarSelect)::

    python benchmarks/reco_detection.py --interactions FILE --format ratings --labels LABELS
    python benchmarks/reco_detection.py --ratings-gen [--generator PATH|builtin] [--times] [--quick]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import scipy.sparse as sp

from mlsiege.checks.reco_defense import planted_platform
from mlsiege.defenses import reco
from mlsiege.defenses.reco.flagging import fpr_threshold, rethreshold, screen_accounts
from mlsiege.defenses.reco.ranking import (
    cap_cohort_influence,
    item_knn_topk,
    trust_weighted,
    without_accounts,
)
from mlsiege.metrics.reco import hit_ratio_at_k, recall_at_k
from mlsiege.metrics.reco_detection import detection_scores

K = 50  # benign recall@50
K_EXPOSURE = 50  # target exposure: hit ratio at 50 in the audience (1% sybils rarely reach a top-10)
REF_VENV = Path(tempfile.gettempdir()) / "fraudar-ref"
DETECTORS = {name: getattr(reco, name) for name in reco.__all__}
CALIBRATED = [n for n in DETECTORS if n != "fraudar_hooi2016"]  # FRAUDAR keeps its block rule


def log(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def split(R: sp.csr_matrix, T: sp.csr_matrix, real: np.ndarray):
    """Hold out each real account's latest engagement (accounts with >= 5)."""
    R, T = R.tocsr(), T.tocsr()
    held = np.zeros(R.nnz, bool)
    for u in np.flatnonzero(real & (np.diff(R.indptr) >= 5)):
        lo, hi = R.indptr[u], R.indptr[u + 1]
        held[lo + int(np.argmax(T.data[lo:hi]))] = True
    rows = np.repeat(np.arange(R.shape[0]), np.diff(R.indptr))

    def part(M, mask):
        return sp.csr_matrix((M.data[mask], (rows[mask], R.indices[mask])), shape=R.shape)

    return part(R, ~held), part(T, ~held), part(R, held)


def outcome(train, heldout, users_util, audience, targets):
    recs_a = item_knn_topk(train, audience, K_EXPOSURE)
    exposure = hit_ratio_at_k(recs_a, targets, train, audience, k=K_EXPOSURE) if targets.size else 0.0
    recs_u = item_knn_topk(train, users_util, K)
    return exposure, recall_at_k(recs_u, heldout, users_util, k=K)


def reference_fraudar(A: sp.csr_matrix, blocks: int, repeats: int = 3) -> dict:
    """Run rgmining-fraudar in its own venv (installed there on first use); best of ``repeats``.

    Only ``detectMultiple`` is timed: interpreter start-up, imports and loading the graph are not.
    """
    py = REF_VENV / "bin" / "python"
    if not py.exists():
        try:
            subprocess.run([sys.executable, "-m", "venv", str(REF_VENV)], check=True, capture_output=True, timeout=300)
            subprocess.run([str(REF_VENV / "bin" / "pip"), "install", "-q", "rgmining-fraudar"], check=True, capture_output=True, timeout=600)
        except (subprocess.SubprocessError, OSError) as exc:
            return {"skipped": f"rgmining-fraudar could not be installed: {type(exc).__name__}"}
    with tempfile.TemporaryDirectory() as tmp:
        coo = A.tocoo()
        np.savez(Path(tmp) / "g.npz", row=coo.row, col=coo.col, shape=np.array(A.shape))
        script = (
            "import json, sys, time, io, contextlib, numpy as np, scipy.sparse as sp\n"
            "from fraudar.export.greedy import detectMultiple, logWeightedAveDegree\n"
            f"g = np.load({str(Path(tmp) / 'g.npz')!r})\n"
            "M = sp.csc_matrix((np.ones(len(g['row'])), (g['row'], g['col'])), shape=tuple(g['shape']))\n"
            "secs = []\n"
            f"for _ in range({repeats}):\n"
            "    t = time.perf_counter()\n"
            "    with contextlib.redirect_stdout(io.StringIO()):\n"
            f"        res = detectMultiple(M, logWeightedAveDegree, {blocks})\n"
            "    secs.append(time.perf_counter() - t)\n"
            "print(json.dumps({'seconds': min(secs), 'blocks': [[sorted(int(r) for r in rs), sorted(int(c) for c in cs), float(s)] for (rs, cs), s in res]}))\n"
        )
        try:
            out = subprocess.run([str(py), "-c", script], check=True, capture_output=True, text=True, timeout=1200)
        except (subprocess.SubprocessError, OSError) as exc:
            return {"skipped": f"reference run failed: {type(exc).__name__}"}
        return json.loads(out.stdout.strip().splitlines()[-1])


def compare_fraudar(A: sp.csr_matrix, blocks: int, base: dict, repeats: int = 3) -> dict:
    """Our FRAUDAR vs the reference on the same built graph: same blocks? time ratio.

    Both sides time only the algorithm (``blocks`` rounds, ``log(d + 5)`` column weights,
    deleting each block's edges), best of ``repeats`` runs each.
    """
    from mlsiege.defenses.reco.fraudar import fraudar_blocks

    ref = reference_fraudar(A, blocks, repeats)
    if "skipped" in ref:
        return {**base, "detector": "fraudar_reference", "skipped": ref["skipped"]}
    secs = []
    for _ in range(repeats):
        t = time.perf_counter()
        ours = fraudar_blocks(A, blocks)
        secs.append(time.perf_counter() - t)
    ours_sec = min(secs)
    same = len(ours) == len(ref["blocks"]) and all(set(r.tolist()) == set(rr) and set(c.tolist()) == set(cc) for (r, c, _), (rr, cc, _) in zip(ours, ref["blocks"], strict=False))
    jac = [len(set(r.tolist()) & set(rr)) / max(len(set(r.tolist()) | set(rr)), 1) for (r, _, _), (rr, _, _) in zip(ours, ref["blocks"], strict=False)]
    return {
        **base, "detector": "fraudar_reference", "blocks": blocks, "same_blocks": bool(same), "account_jaccard": [round(j, 4) for j in jac],
        "repeats": repeats, "seconds": round(ref["seconds"], 3), "ours_seconds": round(ours_sec, 4), "speedup": round(ref["seconds"] / max(ours_sec, 1e-9), 2),
        "block_sizes": [[len(rr), len(cc)] for rr, cc, _ in ref["blocks"]],
    }


def ml100k_shaped(seed: int) -> sp.csr_matrix:
    """A bipartite graph shaped like ml-100k (943 x 1682, ~100k edges, skewed degrees)."""
    rng = np.random.default_rng(seed)
    users = rng.lognormal(0, 1.0, 943)
    items = 1.0 / (np.arange(1682) + 20.0) ** 1.1
    u = rng.choice(943, 130_000, p=users / users.sum())
    i = rng.choice(1682, 130_000, p=items / items.sum())
    A = sp.csr_matrix((np.ones(u.size), (u, i)), shape=(943, 1682))
    A.data[:] = 1.0
    return A


def calibrate(references, budget: float) -> dict[str, float]:
    """Each detector's threshold at ``budget`` over the pooled campaign-free platforms."""
    out = {}
    for name in CALIBRATED:
        pooled = [DETECTORS[name](p.interactions, timestamps=p.timestamps, follows=p.follows, seed=0).scores for p in references]
        out[name] = fpr_threshold(np.concatenate(pooled), budget)
    return out


def run_campaign(cid: str, p, thresholds: dict, n_util: int, rng) -> list[dict]:
    real = ~p.is_sybil
    train, train_t, heldout = split(p.interactions, p.timestamps, real)
    audience = p.audience[np.asarray(train[p.audience][:, p.targets].sum(axis=1)).ravel() == 0]
    users_util = np.flatnonzero(real & (np.diff(heldout.indptr) > 0))
    users_util = np.sort(rng.choice(users_util, min(n_util, users_util.size), replace=False))
    exp_att, util_att = outcome(train, heldout, users_util, audience, p.targets)
    # exposure without any campaign: the sybils' rows removed
    exp_clean, _ = outcome(without_accounts(train, real), heldout, users_util, audience, p.targets)
    base = {
        "campaign": cid, "sybil_fraction": round(float(p.is_sybil.sum() / real.sum()), 4), "targets": int(p.targets.size),
        "sybils": int(p.is_sybil.sum()), "exposure_attacked": round(exp_att, 4), "exposure_no_campaign": round(exp_clean, 4),
        "recall50_attacked": round(util_att, 4),
    }
    rows = []

    def row(detector, flagged, seconds, matrix=None, **extra):
        M = matrix if matrix is not None else without_accounts(train, ~flagged)
        exp, util = outcome(M, heldout, users_util, audience, p.targets)
        gained = exp_att - exp_clean
        red = (exp_att - exp) / exp_att if exp_att > 0 else 0.0
        return {
            **base, "detector": detector, **detection_scores(flagged, p.is_sybil, p.benign_group),
            "exposure": round(exp, 4), "exposure_reduction": round(red, 4),
            "excess_exposure_removed": round((exp_att - exp) / gained, 4) if gained > 0 else None,
            "utility_loss": round((util_att - util) / util_att, 4) if util_att > 0 else 0.0, "seconds": round(seconds, 3), **extra,
        }

    for name, det in DETECTORS.items():
        t = time.perf_counter()
        res = det(train, timestamps=train_t, follows=p.follows, seed=0)
        if name in thresholds:
            res = rethreshold(res, thresholds[name])
        sec = time.perf_counter() - t
        extra = {"threshold": thresholds.get(name)}
        if name == "fraudar_hooi2016":
            blocks = res.metrics["blocks"]
            extra = {"blocks": blocks, "top_block_sybil_recall": round(float((res.groups and sum(1 for a, g in res.groups.items() if g == 0 and p.is_sybil[int(a)])) / max(p.is_sybil.sum(), 1)), 4)}
        rows.append(row(name, res.flagged, sec, **extra))
        log(f"  {cid} {name}: P={rows[-1]['precision']} R={rows[-1]['recall']} FPR={rows[-1]['fpr']} exp-red={rows[-1]['exposure_reduction']}")
    t = time.perf_counter()
    M, w = trust_weighted(train, p.follows)
    rows.append(row("ranking:trust_weighted", w < 0.5, time.perf_counter() - t, matrix=M))
    t = time.perf_counter()
    M, w = cap_cohort_influence(train, train_t)
    rows.append(row("ranking:cohort_caps", w < 0.5, time.perf_counter() - t, matrix=M))
    return rows


def run_file(path: str, fmt: str, budget: float, blocks: int, *, fraudar_only: bool = False, repeats: int = 3) -> list[dict]:
    from mlsiege.datasets import load_interactions

    data = load_interactions(path, fmt)
    base = {"campaign": f"file:{Path(path).name}", "sybil_fraction": 0.0, "targets": 0, "camouflage": False, "mimicry": False,
            "precision": None, "recall": None, "exposure_reduction": None, "utility_loss": None}
    rows = []
    for name, det in ({} if fraudar_only else DETECTORS).items():
        t = time.perf_counter()
        # no campaign-free twin of a real log: every account is presumed real, an account is
        # flagged when the detector's own rule flags it and it is within the top `budget` share
        res = screen_accounts({name: det}, data.matrix, timestamps=data.timestamps, fpr_budget=budget, seed=0)[name]
        rows.append({**base, "detector": name, "flagged": int(res.flagged.sum()), "fpr": round(float(res.flagged.mean()), 6), "seconds": round(time.perf_counter() - t, 3),
                     **({"blocks": res.metrics["blocks"]} if name == "fraudar_hooi2016" else {})})
    A = sp.csr_matrix(data.matrix, dtype=float)
    A.data[:] = 1.0
    rows.append(compare_fraudar(A, blocks, {**base, "fpr": None}, repeats))
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="fewer, smaller platforms (< 5 minutes)")
    ap.add_argument("--interactions", help="a MovieLens-format ratings file to run the detectors on")
    ap.add_argument("--format", default="movielens")
    ap.add_argument("--fpr-budget", type=float, default=0.001, help="false-positive budget on the campaign-free platforms")
    ap.add_argument("--file-budget", type=float, default=0.01, help="with --interactions: at most this share of the log's accounts flagged")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--fraudar-only", action="store_true", help="only the FRAUDAR-vs-reference comparisons (no detectors, no calibration)")
    ap.add_argument("--fraudar-repeats", type=int, default=3, help="FRAUDAR comparison: best of this many runs on each side")
    ap.add_argument("--labels", help="with --interactions: `account label` lines; score every rating detector, the ensemble and the anchors")
    ap.add_argument("--ratings-gen", action="store_true", help="score on explicit-rating logs made by the generator (see --generator)")
    ap.add_argument("--generator", help="path of the explicit-rating generator (default ../shared/acceptance/gen/ratings.py), or builtin (benchmarks/rating_logs.py)")
    ap.add_argument("--times", action="store_true", help="with --ratings-gen: add the aged-account slow-drip cells")
    ap.add_argument("--no-fraudar", action="store_true", help="with --labels or --ratings-gen: skip the reference FRAUDAR anchor")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    if args.ratings_gen or (args.interactions and args.labels):
        from reco_ratings_eval import run_generator, score_log

        if args.ratings_gen:
            run_generator(args.generator, quick=args.quick, times=args.times, fraudar=not args.no_fraudar, seed=args.seed)
        else:
            for r in score_log(args.interactions, args.format, args.labels, {"mode": "labelled-file", "cell": Path(args.interactions).name}, fraudar=not args.no_fraudar, seed=args.seed):
                print(json.dumps(r), flush=True)
        return
    if args.interactions:
        for r in run_file(args.interactions, args.format, args.file_budget, 3, fraudar_only=args.fraudar_only, repeats=args.fraudar_repeats):
            print(json.dumps(r), flush=True)
        return
    n_users, n_items, n_util = (1000, 400, 300) if args.quick else (3000, 1000, 1000)
    modes = {"plain": (False, False), "camouflage": (True, False), "mimicry": (False, True)}
    plan = [(1, "mimicry"), (3, "camouflage"), (3, "mimicry"), (10, "camouflage")] if args.quick else [(t, m) for t in (1, 3, 10) for m in modes]
    t0 = time.perf_counter()
    if not args.fraudar_only:
        references = [planted_platform(n_users, n_items, seed=args.seed + 1000 + i) for i in range(2)]
        thresholds = calibrate(references, args.fpr_budget)
        log(f"thresholds at FPR budget {args.fpr_budget} on 2 campaign-free platforms (seeds {args.seed + 1000}, {args.seed + 1001}): {thresholds}")
    for idx, (targets, mode) in enumerate(plan):
        cam, mim = modes[mode]
        p = planted_platform(n_users, n_items, sybil_fraction=0.01, targets=targets, camouflage=cam, mimicry=mim, seed=args.seed + 1 + idx)
        cid = f"c{idx}-t{targets}-{mode}"
        for r in [] if args.fraudar_only else run_campaign(cid, p, thresholds, n_util, rng):
            print(json.dumps({**r, "camouflage": cam, "mimicry": mim, "fpr_budget": args.fpr_budget}), flush=True)
        if idx == 0 or not args.quick:
            A = sp.csr_matrix(p.interactions, dtype=float)
            A.data[:] = 1.0
            base = {"campaign": cid, "sybil_fraction": 0.01, "targets": targets, "camouflage": cam, "mimicry": mim,
                    "precision": None, "recall": None, "fpr": None, "exposure_reduction": None, "utility_loss": None}
            r = compare_fraudar(A, 3, base, args.fraudar_repeats)
            log(f"  reference FRAUDAR: {r}")
            print(json.dumps(r), flush=True)
    if args.quick:  # rows without a campaign would read as failed small campaigns
        log(f"total {time.perf_counter() - t0:.0f} s")
        return
    A = ml100k_shaped(args.seed)
    base = {"campaign": "ml100k-shaped-graph", "sybil_fraction": 0.0, "targets": 0, "camouflage": False, "mimicry": False,
            "precision": None, "recall": None, "fpr": None, "exposure_reduction": None, "utility_loss": None, "edges": int(A.nnz)}
    r = compare_fraudar(A, 3, base, args.fraudar_repeats)
    log(f"  reference FRAUDAR on an ml-100k-shaped graph: {r}")
    print(json.dumps(r), flush=True)
    log(f"total {time.perf_counter() - t0:.0f} s")


if __name__ == "__main__":
    main()
