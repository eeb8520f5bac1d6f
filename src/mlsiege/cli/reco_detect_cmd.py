"""``mlsiege reco detect``: run coordinated-engagement detectors on your own engagement log."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

import typer

from mlsiege.cli.console import console, fail, user_errors
from mlsiege.cli.names import RecipeTable


def _reco_defenses():  # noqa: ANN202 - the family package, imported on first lookup
    from mlsiege.defenses import reco

    return reco


#: public detector name -> recipe (resolved on first lookup, so --help stays fast)
DETECTORS = RecipeTable(_reco_defenses, {
    "target-groups": "target_groups_zhou2016",
    "coordination": "coordination_scorer",
    "lockstep": "lockstep_beutel2013",
    "coengagement": "coengagement_pacheco2021",
    "fraudar": "fraudar_hooi2016",
    "pca": "shilling_pca_mehta2007",
    "profile": "profile_scorer_chirita2005",
    "rdma": "rdma_chirita2005",
    "wdma": "wdma_williams2007",
    "wda": "wda_williams2007",
    "lengthvar": "lengthvar_burke2006",
    "meanvar": "meanvar_burke2006",
    "fmtd": "fmtd_burke2006",
    "degsim": "degsim_chirita2005",
    "popularity": "popularity_hao2018",
    "sybilrank": "sybilrank_cao2012",
})

#: what a detector cannot run without: "time" (timestamps), "follows" (a follow graph)
NEEDS = {"coordination": ("time",), "lockstep": ("time",), "coengagement": ("time",), "sybilrank": ("follows",)}
COLUMNS = ["account", "detector", "score", "group"]


def _write_csv_atomically(frame, path: Path) -> None:
    """Write to a temporary file in the same directory, then rename: never a partial file at ``path``."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", newline="") as fh:
            frame.to_csv(fh, index=False)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def detect(
    interactions: Path = typer.Option(..., "--interactions", help="Engagement log (ratings file)."),
    fmt: str = typer.Option("movielens", "--format", help="ratings (user item rating [timestamp]) | movielens | csv | parquet"),
    follows: Path | None = typer.Option(None, "--follows", help="Optional follow edge list (follower followee)."),
    detector: str | None = typer.Option(None, "--detector", help="Comma-separated (default: the ensemble the log supports): " + ", ".join(DETECTORS)),
    labels: Path | None = typer.Option(None, "--labels", help="Optional `account label` file: prints and writes precision, recall, F1, FPR."),
    fpr_budget: float | None = typer.Option(None, "--fpr-budget", help="Optional upper bound on the share of accounts flagged per detector (ties at the cut-off kept)."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("reco-detect"), "--out", help="Output directory (flagged.csv, report.json)."),
) -> None:
    """Flag coordinated accounts: DIR/flagged.csv (account, detector, score, group) and DIR/report.json.

    Without ``--detector`` the default ensemble runs what the log supports (target-centred
    groups on explicit ratings, coordination with timestamps, SybilRank with a follow graph) and
    says what it skipped and why. Each detector flags what is significant against the log's own
    null; ``--fpr-budget`` only caps the share flagged. flagged.csv is written once, complete;
    progress after each detector goes to flagged.partial.csv.
    """
    started = time.perf_counter()
    names = None if detector is None else [n.strip() for n in detector.split(",") if n.strip()]
    if names is not None:
        unknown = [n for n in names if n not in DETECTORS]
        if unknown or not names:
            raise fail(f"unknown detector(s) {', '.join(unknown) or repr(detector)}; choose from {', '.join(DETECTORS)} (or leave --detector out for the default ensemble)")
    with user_errors():
        import numpy as np
        import pandas as pd

        from mlsiege.datasets import load_follows, load_interactions
        from mlsiege.datasets.interactions import load_labels, plain_id
        from mlsiege.defenses.reco.ensemble import MEMBERS, is_explicit, plan
        from mlsiege.defenses.reco.flagging import screen_accounts
        from mlsiege.metrics.reco_detection import detection_scores
        from mlsiege.report.json_report import write_json

        data = load_interactions(interactions, fmt)
        follow_matrix = None if follows is None else load_follows(follows, data)
        truth, label_info = (None, None) if labels is None else load_labels(labels, data.user_ids)
        out.mkdir(parents=True, exist_ok=True)
        explicit = is_explicit(data.matrix)
        if names is None:
            members, skipped = plan(explicit=explicit, has_time=data.timestamps is not None, has_follows=follow_matrix is not None)
            recipes = {n.replace("_", "-"): MEMBERS[n][0] for n in members}
            skipped = {n.replace("_", "-"): r for n, r in skipped.items()}
            mode = "ensemble"
        else:
            recipes, skipped, mode = {}, {}, "detectors"
            for n in names:
                missing = [k for k in NEEDS.get(n, ()) if (k == "time" and data.timestamps is None) or (k == "follows" and follow_matrix is None)]
                if missing:
                    skipped[n] = "the log has no timestamps" if "time" in missing else "no follow graph given (--follows)"
                else:
                    recipes[n] = DETECTORS[n]
        for n, why in skipped.items():
            console.print(f"skipped {n}: {why}", highlight=False)
        rows, summary = [], {}
        flagged_any = np.zeros(data.n_users, bool)
        partial = out / "flagged.partial.csv"
        for name, recipe in recipes.items():
            res = screen_accounts({name: recipe}, data.matrix, timestamps=data.timestamps, follows=follow_matrix, fpr_budget=fpr_budget, seed=seed)[name]
            flagged_any |= res.flagged
            # target groups name items: report them by the log's own item ids
            by_item = name == "target-groups"
            for a in np.flatnonzero(res.flagged):
                g = res.groups.get(int(a), -1)
                rows.append({"account": plain_id(data.user_ids[a]), "detector": name, "score": float(res.scores[a]),
                             "group": plain_id(data.item_ids[g]) if by_item and g >= 0 else g})
            metrics = dict(res.metrics)
            if by_item:
                metrics["targets"] = [{**t, "item": plain_id(data.item_ids[t["item"]])} for t in metrics.get("targets", [])]
            summary[name] = {
                "recipe": res.defense, "flagged": int(res.flagged.sum()), "seconds": res.seconds,
                "config": dict(res.config), "metrics": metrics,
            }
            if truth is not None:
                summary[name]["scores_on_labels"] = detection_scores(res.flagged[truth >= 0], truth[truth >= 0] == 1)
            # progress, so an error later loses nothing computed; never mistaken for the result
            _write_csv_atomically(pd.DataFrame(rows, columns=COLUMNS), partial)
        frame = pd.DataFrame(rows, columns=COLUMNS)
        if mode == "ensemble" and len(frame):
            # one row per account flagged by the ensemble, naming every member that flagged it
            frame = frame.groupby("account", sort=False, as_index=False).agg(
                detector=("detector", "+".join), score=("score", "max"), group=("group", "first"))
        _write_csv_atomically(frame, out / "flagged.csv")
        partial.unlink(missing_ok=True)
        ensemble = None
        if mode == "ensemble":
            ensemble = {"ran": list(recipes), "skipped": skipped, "flagged": int(flagged_any.sum())}
            if truth is not None:
                ensemble["scores_on_labels"] = detection_scores(flagged_any[truth >= 0], truth[truth >= 0] == 1)
        report = {
            "source": str(interactions), "format": fmt, "accounts": data.n_users, "items": data.n_items, "engagements": data.nnz,
            "explicit_ratings": explicit, "timestamps": data.timestamps is not None, "follows": follow_matrix is not None,
            "mode": mode, "fpr_budget": fpr_budget, "seed": seed, "detectors": summary, "skipped": skipped, "ensemble": ensemble,
            "labels": None if labels is None else {"file": str(labels), **label_info}, "seconds": time.perf_counter() - started,
        }
        write_json(out / "report.json", report, kind="reco-detect")
    ran = ", ".join(f"{n}: {s['flagged']}" for n, s in summary.items()) or "no detector could run"
    head = f"ensemble ({', '.join(recipes) or 'nothing'}) flagged {int(flagged_any.sum())}" if mode == "ensemble" else "flagged"
    console.print(f"{head} ({ran}) of {data.n_users} accounts -> {out / 'flagged.csv'}", highlight=False)
    if truth is not None:
        console.print(f"labels: {label_info['labelled']} accounts labelled ({label_info['positives']} positive, {label_info['unknown_accounts']} ids not in the log); "
                      "precision / recall / F1 / FPR over the labelled accounts:", highlight=False)
        table = {n: s["scores_on_labels"] for n, s in summary.items()}
        if ensemble is not None:
            table["ensemble"] = ensemble["scores_on_labels"]
        for n, m in table.items():
            console.print(f"  {n:14s} P {m['precision']:.3f}  R {m['recall']:.3f}  F1 {m['f1']:.3f}  FPR {m['fpr']:.4f}  ({m['flagged']} flagged)", highlight=False)
