"""``mlsiege demo``: both flagships on built-in synthetic worlds, one index page linking the reports.

``mlsiege demo feed`` (flagship B: sybils vs a social feed), ``mlsiege demo registration``
(flagship A: a botnet vs an event's registration); bare ``mlsiege demo`` runs both into
``OUT/feed`` and ``OUT/registration`` and writes ``OUT/index.html``.
"""

from __future__ import annotations

from pathlib import Path

import typer

from mlsiege.cli.console import console, err_console, user_errors

__all__ = ["app"]

app = typer.Typer(help="Run the flagship scenarios on built-in synthetic data (both when no sub-command is given).",
                  invoke_without_command=True)


def _feed(out: Path, seed: int, quiet: bool = False, small: bool = False, variants: str = "") -> dict:
    from mlsiege.report.feed_demo import write_feed_demo_html
    from mlsiege.report.json_report import write_json
    from mlsiege.scenarios.feed_demo import FeedDemoConfig, run_feed_demo

    def progress(message: str) -> None:
        if not quiet:
            err_console.print(f"[dim]feed demo:[/] {message}", highlight=False)

    chosen = {"variants": tuple(v.strip() for v in variants.split(",") if v.strip())} if variants.strip() else {}
    config = FeedDemoConfig.small(seed=seed, **chosen) if small else FeedDemoConfig(seed=seed, **chosen)
    payload = run_feed_demo(config, progress=progress)
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "report.json", payload, kind="feed-demo")
    try:
        write_feed_demo_html(payload, out / "report.html")
    except ImportError as exc:  # plotly missing: keep the JSON, say so
        err_console.print(f"[yellow]no HTML report:[/] {exc}")
    return payload


def _print_feed(payload: dict, out: Path) -> None:
    s = payload["summary"]
    console.print(
        f"Feed: {payload['n_sybils']} sybils ({payload['default_attacker']}) vs a {payload['recommender']} feed of "
        f"{payload['users']} users: target exposure in the audience {s['exposure_clean']:.3f} (clean) -> "
        f"{s['exposure_attacked']:.3f} (attacked, mean over {len(payload['rounds'])} days); "
        f"amplification {s['amplification']:.2f} impressions per sybil engagement.", highlight=False)
    for v in payload["attacker_variants"]:
        console.print(f"  attacker {v['variant']}: exposure {v['exposure']:.3f}, amplification {v['amplification']:.2f}", highlight=False)
    for m in payload["mitigations"]:
        cells = ", ".join(
            f"{r['key']} {'cut ' + format(r['exposure_reduction'], '.0%') if r['exposure_reduction'] >= 0 else 'raised ' + format(r['exposure_after'] / max(r['exposure_before'], 1e-12), '.1f') + 'x'}"
            f" at {r['utility_loss']:.1%} utility loss" for r in m["per_variant"])
        verdict = "holds against every attacker" if m["holds_against_all"] else "does not hold against every attacker"
        console.print(f"  mitigation {m['name']} ({verdict}): exposure {cells}", highlight=False)
    console.print(f"Feed report: {(out / 'report.html').resolve()} ({payload['seconds']:.0f} s)", highlight=False)


def _registration(out: Path, seed: int) -> dict:
    from mlsiege.cli.registration_cmd import _run, _table
    from mlsiege.scenarios.registration_botnet import RegistrationBotnetConfig

    report = _run(RegistrationBotnetConfig(seed=seed), out)
    console.print(_table(report))
    console.print(f"Registration report: {(out / 'report.html').resolve()} ({report['seconds']:.0f} s)", highlight=False)
    return report


@app.callback()
def demo(
    ctx: typer.Context,
    out: Path = typer.Option(Path("mlsiege-demo"), "--out", help="Where to write the reports (OUT/feed, OUT/registration, OUT/index.html)."),
    seed: int = typer.Option(0, "--seed", help="Seed of both worlds."),
) -> None:
    """Both flagships: registration botnet (A) and sybils in a social feed (B), with an index page."""
    if ctx.invoked_subcommand is not None:
        return
    from mlsiege.report.demo_index import write_demo_index

    with user_errors():
        registration = _registration(out / "registration", seed)
        feed = _feed(out / "feed", seed)
        _print_feed(feed, out / "feed")
        index = write_demo_index(out / "index.html", registration=registration, feed=feed)
    console.print(f"Open the index: {index.resolve()}", highlight=False)


@app.command("feed")
def feed(
    out: Path = typer.Option(Path("mlsiege-demo/feed"), "--out", help="Directory for report.json and report.html."),
    seed: int = typer.Option(0, "--seed", help="Seed of the platform, the attackers and the models."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines."),
    small: bool = typer.Option(False, "--small", help="A small platform (400 users, 300 posts, 3 days) for a quick look."),
    variants: str = typer.Option("", "--variants", help="Attackers, comma-separated, the first is the default: pod, aged, aged-ring, mimicry (default pod,aged,mimicry)."),
) -> None:
    """Flagship B: rented sybils carry a post into a social feed's timelines through its own engagement loop."""
    with user_errors():
        payload = _feed(out, seed, quiet, small, variants)
    _print_feed(payload, out)


@app.command("registration")
def registration(
    out: Path = typer.Option(Path("mlsiege-demo/registration"), "--out", help="Directory for report.json and report.html."),
    seed: int = typer.Option(0, "--seed", help="Seed."),
) -> None:
    """Flagship A: a botnet vs an event's open registration, across four lifecycle maturity profiles."""
    with user_errors():
        _registration(out, seed)
