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
    attack: str = typer.Option("audience-mimicry", "--attack", help="random | average | bandwagon | segment | audience-mimicry | follow-ring | pod | optimized"),
    recommender: str = typer.Option("item-knn", "--recommender", help=" | ".join(RECOMMENDERS)),
    engagements: int = typer.Option(10, "--engagements-per-sybil", help="Engagements per sybil per round."),
    targets: int = typer.Option(3, "--targets", help="Attacker posts to promote."),
    timeline: int = typer.Option(20, "--timeline-k", help="Timeline length served each round."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("feed-injection"), "--out", help="Output directory (report.json, report.html)."),
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
        payload = run_feed_injection(feed, recipe, lambda: make_recommender(recommender, seed=seed), config=config, seed=seed)
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
