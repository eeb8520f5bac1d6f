"""``mlsiege scenario run registration-botnet`` (``mlsiege demo registration`` reuses its runner)."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import console, err_console, user_errors

__all__ = ["registration_botnet"]


def _run(cfg, out: Path, quiet: bool = False) -> dict:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlsiege.report.json_report import write_json
    from mlsiege.report.registration import write_registration_html
    from mlsiege.scenarios.registration_botnet import run_registration_botnet

    total = len(cfg.profiles) * cfg.events
    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=err_console, disable=quiet) as bar:
        task = bar.add_task("training the defender's detector", total=total)

        def progress(profile: str, event: int, n_events: int) -> None:
            done = list(cfg.profiles).index(profile) * n_events + event
            bar.update(task, completed=done, description=f"{profile}: event {event + 1}/{n_events}")

        report = run_registration_botnet(cfg, progress=progress)
        bar.update(task, completed=total, description="done")
    out.mkdir(parents=True, exist_ok=True)
    write_json(out / "report.json", report, kind="registration-botnet")
    try:
        write_registration_html(report, out / "report.html")
    except ImportError as exc:  # plotly missing: keep the JSON, say so
        err_console.print(f"[yellow]no HTML report:[/] {exc}")
    return report


def _table(report: dict) -> Table:
    table = Table(title="Registration botnet: phony attendees per lifecycle maturity profile",
                  caption="success = phony through / attempted; AUC drop = downstream no-show model; "
                          "detected = first event with an alert on the botnet")
    for col in ("profile", "phony", "through", "success", "benign rej.", "probes", "AUC drop", "detected"):
        table.add_column(col, justify="left" if col == "profile" else "right", no_wrap=col == "profile")
    for name, p in report["profiles"].items():
        table.add_row(name, str(p["phony_attempted"]), str(p["phony_through"]), f"{p['attacker_success_rate']:.1%}",
                      f"{p['benign_rejected_rate']:.1%}", str(p["probes_used"]), f"{p['downstream_metric_drop']:.3f}",
                      str(p["rounds_to_detection"] or "never"))
    return table


def registration_botnet(
    profiles: str = typer.Option("low,hardened-model,medium,high", "--profiles", help="Maturity profiles, comma-separated."),
    out: Path = typer.Option(Path("registration-botnet"), "--out", help="Directory for report.json and report.html."),
    seed: int = typer.Option(0, "--seed", help="Seed of the world, the botnet and the models."),
    n_benign: int = typer.Option(None, "--population", help="Benign registrations per event (default 20000)."),
    accounts: int = typer.Option(None, "--accounts", help="Botnet accounts (phony registrations) per event."),
    probes: int = typer.Option(None, "--probes", help="Botnet probe budget per event."),
    subnets: int = typer.Option(None, "--subnets", help="Proxy /24 subnets the botnet spreads over."),
    events: int = typer.Option(None, "--events", help="Events (rounds) the exploit runs over."),
    detector: str = typer.Option(None, "--detector", help="Defender's detector: supervised, iforest or both."),
    config: Path = typer.Option(None, "--config", help="YAML file with any of these knobs (flags override it)."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar and no summary table."),
) -> None:
    """Botnet vs an event's open registration, across lifecycle maturity profiles."""
    from mlsiege.scenarios.registration_botnet import RegistrationBotnetConfig

    with user_errors():
        knobs = {"n_benign": n_benign, "accounts": accounts, "probes": probes, "subnets": subnets,
                 "events": events, "detector": detector}
        knobs = {k: v for k, v in knobs.items() if v is not None}
        knobs["seed"] = seed
        knobs["profiles"] = profiles
        cfg = (RegistrationBotnetConfig.from_yaml(config, **knobs) if config
               else RegistrationBotnetConfig.from_mapping(knobs))
        report = _run(cfg, out, quiet)
    if not quiet:
        console.print(_table(report))
        console.print(f"report: {out / 'report.json'} and {out / 'report.html'}")
