"""``mlsiege scenario run feed-injection``: flagship scenario B."""

from __future__ import annotations

from pathlib import Path

import typer

from mlsiege.cli.console import console, fail, user_errors
from mlsiege.cli.reco_cmd import RECOMMENDERS, attack_recipe


def feed_injection(
    users: int = typer.Option(2000, "--users", help="Real users on the platform."),
    items: int = typer.Option(1500, "--items", help="Items posted (before and during the run)."),
    rounds: int = typer.Option(5, "--rounds", help="Retrain -> serve -> engage rounds."),
    sybil_fraction: float = typer.Option(0.01, "--sybil-fraction", help="Sybil accounts as a fraction of real users."),
    attack: str = typer.Option("audience-mimicry", "--attack", help="random | average | bandwagon | segment | audience-mimicry | follow-ring | pod | optimized | gradient"),
    recommender: str = typer.Option("item-knn", "--recommender", help=" | ".join(RECOMMENDERS)),
    engagements: int = typer.Option(10, "--engagements-per-sybil", help="Engagements per sybil per round."),
    targets: int = typer.Option(3, "--targets", help="Attacker posts to promote."),
    timeline: int = typer.Option(20, "--timeline-k", help="Timeline length served each round."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("feed-injection"), "--out", help="Output directory (report.json, report.html)."),
    defense: str = typer.Option("", "--defense", help="Comma-separated reco detectors to measure (e.g. coordination,fraudar)."),
    fpr_budget: float = typer.Option(0.005, "--fpr-budget", help="Defenses' false-positive budget on the clean run."),
) -> None:
    """Sybils exploit a feed recommender through its own engagement loop; clean vs attacked."""
    recipe = attack_recipe(attack)
    if recommender not in RECOMMENDERS:
        raise fail(f"unknown recommender {recommender!r}; choose one of {', '.join(RECOMMENDERS)}")
    with user_errors():
        from mlsiege.report.json_report import write_json
        from mlsiege.scenarios.feed_injection import FeedInjectionConfig, run_feed_injection
        from mlsiege.sim.feed import FeedConfig
        from mlsiege.targets.recommenders import make_recommender

        feed = FeedConfig(n_users=users, n_items=items, rounds=rounds, timeline_k=timeline)
        config = FeedInjectionConfig(sybil_fraction=sybil_fraction, n_targets=targets, engagements_per_sybil=engagements)
        defenses = _defenses(defense)  # issue 10: --defense NAME[,NAME]
        payload = run_feed_injection(feed, recipe, lambda: make_recommender(recommender, seed=seed), config=config, seed=seed,
                                     defenses=defenses, fpr_budget=fpr_budget)
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "report.json", payload, kind="feed-injection")
        html_note = ""
        try:
            from mlsiege.report.feed import write_feed_html

            write_feed_html(payload, out / "report.html")
        except ImportError as exc:  # plotly missing: the JSON is already written
            html_note = f" (no report.html: {exc})"
    s = payload["summary"]
    console.print(
        f"{attack} vs {recommender}: audience exposure {s['exposure_clean_final']:.3f} (clean) -> "
        f"{s['exposure_attacked_final']:.3f} (attacked) after {rounds} rounds, "
        f"amplification {s['amplification_final']:.2f} impressions/engagement -> {out}{html_note}",
        highlight=False,
    )
    for name, d in payload.get("defenses", {}).get("defenses", {}).items():
        console.print(
            f"  defense {name}: flagged {d['flagged_sybil']}/{d['sybils']} sybils and {d['flagged_real']} real accounts; "
            f"exposure {payload['defenses']['exposure_undefended']:.3f} -> {d['exposure_defended']:.3f}",
            highlight=False,
        )


def _defenses(spec: str) -> dict:
    """``coordination,fraudar`` -> {name: recipe}, or a one-line error naming the unknown ones."""
    from mlsiege.cli.reco_detect_cmd import DETECTORS

    names = [n.strip() for n in spec.split(",") if n.strip()]
    unknown = [n for n in names if n not in DETECTORS]
    if unknown:
        raise fail(f"unknown defense(s) {unknown}; choose from {', '.join(DETECTORS)}")
    return {n: DETECTORS[n] for n in names}
