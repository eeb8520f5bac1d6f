"""``mlsiege reco ...``: attacks (and, from the defense helpers, detections) on recommenders."""

from __future__ import annotations

import time
from pathlib import Path

import typer

from mlsiege.cli.console import console, fail, user_errors
from mlsiege.cli.names import RecipeTable
from mlsiege.cli.reco_detect_cmd import detect as reco_detect
from mlsiege.cli.reco_plant_cmd import plant as reco_plant

app = typer.Typer(help="Attack or defend a user recommender on your own engagement logs.", no_args_is_help=True)



def _reco_attacks():  # noqa: ANN202 - the family package, imported on first lookup
    from mlsiege.attacks import reco

    return reco


#: public attack name -> recipe (the only name -> recipe table, as the style guide asks;
#: resolved on first lookup, so --help stays fast)
ATTACKS = RecipeTable(_reco_attacks, {
    "random": "random_attack_lam2004",
    "average": "average_attack_lam2004",
    "bandwagon": "bandwagon_attack_burke2005",
    "segment": "segment_attack_mobasher2005",
    "audience-mimicry": "audience_mimicry_tang2020",
    "follow-ring": "follow_ring_ferrara2016",
    "pod": "engagement_pod_weerasinghe2020",
    "optimized": "white_box_surrogate_injection",
    "gradient": "gradient_mf_li2016",
})
RECOMMENDERS = ("popularity", "item-knn", "als", "bpr", "social", "biased-mf")


def attack_recipe(name: str):  # noqa: ANN201 - a recipe function
    """The recipe for a public attack name, or a one-line error."""
    if name not in ATTACKS:
        raise fail(f"unknown attack {name!r}; choose one of {', '.join(ATTACKS)}")
    return ATTACKS[name]


@app.command("attack")
def attack(
    interactions: Path = typer.Option(..., "--interactions", help="Engagement log (ratings file)."),
    fmt: str = typer.Option("movielens", "--format", help="ratings (user item rating [timestamp]) | movielens | csv | parquet"),
    recommender: str = typer.Option("item-knn", "--recommender", help=" | ".join(RECOMMENDERS)),
    attack_name: str = typer.Option("random", "--attack", help=" | ".join(ATTACKS)),
    sybil_fraction: float = typer.Option(0.01, "--sybil-fraction", help="Sybil accounts as a fraction of real users."),
    targets: int = typer.Option(5, "--targets", help="Cold items to promote (drawn by the seed from the least popular quartile)."),
    engagements: int = typer.Option(0, "--engagements-per-sybil", help="Engagement budget per sybil (0: the mean real profile size)."),
    follows: Path | None = typer.Option(None, "--follows", help="Optional follow/trust edge list (follower followee)."),
    seed: int = typer.Option(0, "--seed"),
    out: Path = typer.Option(Path("reco-attack"), "--out", help="Output directory (report.json)."),
) -> None:
    """Static attack: inject sybils once, retrain once, compare hit ratio and NDCG at 10."""
    started = time.perf_counter()
    recipe = attack_recipe(attack_name)
    if recommender not in RECOMMENDERS:
        raise fail(f"unknown recommender {recommender!r}; choose one of {', '.join(RECOMMENDERS)}")
    with user_errors():
        from mlsiege.attacks.reco.evaluate import evaluate_static_attack
        from mlsiege.datasets import load_follows, load_interactions
        from mlsiege.datasets.interactions import plain_id
        from mlsiege.report.json_report import write_json
        from mlsiege.targets.recommenders import make_recommender

        data = load_interactions(interactions, fmt)
        follow_matrix = None if follows is None else load_follows(follows, data)
        report = evaluate_static_attack(
            recipe, lambda: make_recommender(recommender, seed=seed), data.matrix,
            timestamps=data.timestamps, sybil_fraction=sybil_fraction, n_targets=targets,
            engagements_per_sybil=engagements or None, follows=follow_matrix, seed=seed, recommender=recommender,
        )
        report["targets"] = [plain_id(data.item_ids[t]) for t in report["targets"]]
        report.update(recommender=recommender, attack_name=attack_name, sybil_fraction=sybil_fraction,
                      seed=seed, duplicates_merged=data.duplicates, source=str(interactions))
        report["seconds"] = time.perf_counter() - started
        out.mkdir(parents=True, exist_ok=True)
        write_json(out / "report.json", report, kind="reco-attack")
    console.print(
        f"{attack_name} vs {recommender}: hr@10 {report['hr_at_10_clean']:.4f} -> {report['hr_at_10_attacked']:.4f}, "
        f"ndcg@10 {report['ndcg_at_10_clean']:.4f} -> {report['ndcg_at_10_attacked']:.4f} "
        f"({report['n_sybils']} sybils, {report['seconds']:.1f} s) -> {out / 'report.json'}",
        highlight=False,
    )


app.command("detect")(reco_detect)  # defense side: mlsiege reco detect (issue 10)
app.command("plant")(reco_plant)  # a log with a known campaign (adaptive variants, benign groups)
