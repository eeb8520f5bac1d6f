"""``mlsiege reco detect``: run coordinated-engagement detectors on your own engagement log."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import typer

from mlsiege.cli.console import console, fail, user_errors
from mlsiege.defenses import reco as reco_defenses

#: what a detector cannot run without: "time" (timestamps), "follows" (a follow graph)
NEEDS = {"coordination": ("time",), "lockstep": ("time",), "coengagement": ("time",), "sybilrank": ("follows",)}

#: public detector name -> recipe
DETECTORS = {
    "coordination": reco_defenses.coordination_scorer,
    "lockstep": reco_defenses.lockstep_beutel2013,
    "coengagement": reco_defenses.coengagement_pacheco2021,
    "fraudar": reco_defenses.fraudar_hooi2016,
    "pca": reco_defenses.shilling_pca_mehta2007,
    "profile": reco_defenses.profile_scorer_chirita2005,
    "sybilrank": reco_defenses.sybilrank_cao2012,
}


def detect(
    interactions: Path = typer.Option(..., "--interactions", help="Engagement log (ratings file)."),
    fmt: str = typer.Option("movielens", "--format", help="ratings (user item rating [timestamp]) | movielens | csv | parquet"),
    follows: Path | None = typer.Option(None, "--follows", help="Optional follow edge list (follower followee)."),
    detector: str = typer.Option("coordination", "--detector", help="Comma-separated: " + ", ".join(DETECTORS)),
    fpr_budget: float = typer.Option(0.005, "--fpr-budget", help="At most this share of accounts flagged per detector."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("reco-detect"), "--out", help="Output directory (flagged.csv, report.json)."),
) -> None:
    """Flag coordinated accounts: DIR/flagged.csv (account, detector, score, group) and DIR/report.json.

    An account is flagged when the detector's own rule flags it and its score is within the
    top ``--fpr-budget`` share of the log's accounts (every account of your log is presumed
    real, so the budget caps the false-positive rate).
    """
    started = time.perf_counter()
    names = [n.strip() for n in detector.split(",") if n.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown or not names:
        raise fail(f"unknown detector(s) {unknown or detector!r}; choose from {', '.join(DETECTORS)}")
    with user_errors():
        import pandas as pd

        from mlsiege.datasets import load_follows, load_interactions
        from mlsiege.datasets.interactions import plain_id
        from mlsiege.defenses.reco.flagging import screen_accounts
        from mlsiege.report.json_report import write_json

        data = load_interactions(interactions, fmt)
        follow_matrix = None if follows is None else load_follows(follows, data)
        out.mkdir(parents=True, exist_ok=True)
        rows, summary, skipped = [], {}, {}
        for name in names:
            missing = [n for n in NEEDS.get(name, ()) if (n == "time" and data.timestamps is None) or (n == "follows" and follow_matrix is None)]
            if missing:
                skipped[name] = "the log has no timestamps" if "time" in missing else "no --follows graph given"
                console.print(f"skipped {name}: {skipped[name]}", highlight=False)
                continue
            res = screen_accounts({name: DETECTORS[name]}, data.matrix, timestamps=data.timestamps, follows=follow_matrix, fpr_budget=fpr_budget, seed=seed)[name]
            for a in np.flatnonzero(res.flagged):
                rows.append({"account": plain_id(data.user_ids[a]), "detector": name, "score": float(res.scores[a]), "group": res.groups.get(int(a), -1)})
            summary[name] = {
                "recipe": res.defense, "flagged": int(res.flagged.sum()), "budget_threshold": res.metrics["threshold"],
                "seconds": res.seconds, "config": dict(res.config), "metrics": dict(res.metrics),
            }
            # written after each detector, so an error later loses nothing computed
            pd.DataFrame(rows, columns=["account", "detector", "score", "group"]).to_csv(out / "flagged.csv", index=False)
        report = {
            "source": str(interactions), "accounts": data.n_users, "items": data.n_items, "engagements": data.nnz,
            "fpr_budget": fpr_budget, "seed": seed, "detectors": summary, "skipped": skipped, "seconds": time.perf_counter() - started,
        }
        write_json(out / "report.json", report, kind="reco-detect")
    flagged_txt = ", ".join(f"{n}: {s['flagged']}" for n, s in summary.items())
    console.print(f"flagged {flagged_txt} of {data.n_users} accounts -> {out / 'flagged.csv'}", highlight=False)
