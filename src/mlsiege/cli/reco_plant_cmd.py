"""``mlsiege reco plant``: write a planted platform (a log with a known campaign) to files."""

from __future__ import annotations

from pathlib import Path

import typer

from mlsiege.cli.console import console, user_errors


def plant(
    out: Path = typer.Option(Path("planted"), "--out", help="Output directory."),
    users: int = typer.Option(2000, "--users", help="Real accounts."),
    items: int = typer.Option(800, "--items"),
    sybil_fraction: float = typer.Option(0.01, "--sybil-fraction", help="Sybils per real account (0: no campaign)."),
    targets: int = typer.Option(3, "--targets", help="New items the campaign pushes."),
    aged_days: float = typer.Option(0.0, "--aged-days", help="Sybils created this many days before the push."),
    drip_days: float = typer.Option(0.0, "--drip-days", help="Each push at a uniform moment of this many days."),
    stagger_days: float = typer.Option(0.0, "--stagger-days", help="Sybils created one by one over this many days."),
    camouflage: bool = typer.Option(False, "--camouflage", help="Fillers on popular items rated at their mean."),
    mimicry: bool = typer.Option(False, "--mimicry", help="Fillers copied from real members of the target audience."),
    fan_newcomers: float = typer.Option(0.0, "--fan-newcomers", help="Share of each fan community joining on its first release day."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Write DIR/interactions.csv (user,item,rating,timestamp), DIR/follows.txt, DIR/labels.txt
    (account label, 1 = sybil) and DIR/groups.csv (account, kind: sybil, fans, friends or none).

    Then: ``mlsiege reco detect --interactions DIR/interactions.csv --format csv --follows DIR/follows.txt``.
    """
    with user_errors():
        import numpy as np
        import pandas as pd

        from mlsiege.checks.reco_defense import planted_platform

        p = planted_platform(
            users, items, sybil_fraction=sybil_fraction, targets=targets if sybil_fraction > 0 else 0, camouflage=camouflage, mimicry=mimicry,
            aged_days=aged_days, drip_days=drip_days, stagger_days=stagger_days, fan_newcomers=fan_newcomers, seed=seed,
        )
        out.mkdir(parents=True, exist_ok=True)
        R, T = p.interactions.tocoo(), p.timestamps.tocoo()  # same stored entries, same order
        pd.DataFrame({"user": R.row, "item": R.col, "rating": R.data.astype(int), "timestamp": T.data.astype(np.int64)}).to_csv(out / "interactions.csv", index=False)
        F = p.follows.tocoo()
        np.savetxt(out / "follows.txt", np.column_stack([F.row, F.col]), fmt="%d")
        np.savetxt(out / "labels.txt", np.column_stack([np.arange(p.is_sybil.size), p.is_sybil.astype(int)]), fmt="%d")
        kinds = np.asarray(p.group_kind + ("none",), dtype=object)[p.benign_group]
        kinds[p.is_sybil] = "sybil"
        pd.DataFrame({"account": np.arange(kinds.size), "kind": kinds}).to_csv(out / "groups.csv", index=False)
        np.savetxt(out / "targets.txt", p.targets, fmt="%d")
    console.print(f"planted {int((~p.is_sybil).sum())} real accounts, {int(p.is_sybil.sum())} sybils pushing {p.targets.size} items, {p.interactions.nnz} engagements -> {out}")
