"""``mlsiege lifecycle init|audit``: describe a pipeline, audit which stage stops which attack."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import EXIT_FINDINGS, console, fail, user_errors

app = typer.Typer(help="Describe your ML lifecycle and audit which stage stops which attack.", no_args_is_help=True)


@app.command("init")
def init(
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the pipeline YAML."),
    maturity: str = typer.Option("low", help="Preset to start from: low | hardened-model | medium | high."),
    name: str = typer.Option("my-pipeline", help="Pipeline name."),
) -> None:
    """Write a commented pipeline template starting from a maturity preset."""
    from mlsiege.lifecycle.templates import render_template

    with user_errors():
        output.write_text(render_template(maturity, name))
    console.print(f"wrote {output} (maturity preset '{maturity}'); edit it, then: mlsiege lifecycle audit {output} --out DIR")


@app.command("audit")
def audit(
    pipeline: Path = typer.Argument(..., help="Pipeline YAML (from `mlsiege lifecycle init`)."),
    out: Path = typer.Option(..., "--out", help="Directory for report.json and report.html."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding reaches this severity."),
    budget: int = typer.Option(500, help="Query budget per attack in the dynamic audit."),
    seed: int = typer.Option(0, help="Seed of the dynamic audit."),
) -> None:
    """Static audit (always) and dynamic audit (when artefacts are given) of PIPELINE."""
    from mlsiege.lifecycle.report import run_audit
    from mlsiege.report.findings import SEVERITIES, reaches

    if fail_on is not None and fail_on not in SEVERITIES:
        raise fail(f"--fail-on must be one of {', '.join(SEVERITIES)}")
    with user_errors():
        document = run_audit(pipeline, out, budget=budget, seed=seed)
    findings = document["findings"]
    table = Table("severity", "finding", width=110)
    for f in findings:
        table.add_row(f["severity"], f["title"])
    console.print(table)
    console.print(f"uncovered attack paths: {', '.join(document['uncovered']) or 'none'}")
    for note in document.get("notes", []):
        console.print(f"[yellow]note:[/] {note}")
    console.print(f"report: {out / 'report.json'} and {out / 'report.html'}")
    if fail_on is not None and any(reaches(f["severity"], fail_on) for f in findings):
        raise typer.Exit(EXIT_FINDINGS)
