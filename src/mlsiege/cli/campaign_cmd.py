"""``mlsiege campaign run grid.yaml --out DIR [--ray auto|ADDRESS]``: a grid of scans."""

from __future__ import annotations

from pathlib import Path

import typer

from mlsiege.cli.console import EXIT_FINDINGS, err_console, fail, user_errors
from mlsiege.cli.summary import print_summary
from mlsiege.report.findings import SEVERITIES, reaches

app = typer.Typer(help="Run a grid of scans (targets x attacks x budgets x seeds).", no_args_is_help=True)


@app.command("run")
def run(
    grid_path: Path = typer.Argument(..., help="Grid YAML (data, label, schema, targets, attacks, budgets, seeds)."),
    out: Path = typer.Option(..., "--out", help="Directory for results.jsonl, report.json and report.html."),
    ray: str | None = typer.Option(None, "--ray", help="Run on Ray: 'auto' or a cluster ADDRESS (default: local processes)."),
    workers: int = typer.Option(2, "--workers", help="Local processes (ignored with --ray)."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding reaches this severity."),
) -> None:
    """Run every task not yet in OUT/results.jsonl (so a stopped campaign resumes), then report."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from mlsiege.campaign import Grid, run_campaign
    from mlsiege.report.json_report import read_json
    from mlsiege.report.render import render_dir

    if fail_on is not None and fail_on not in SEVERITIES:
        raise fail(f"--fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    with user_errors():
        grid = Grid.from_yaml(grid_path)
        columns = (TextColumn("[bold]campaign"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   TextColumn("{task.description}"))
        with Progress(*columns, console=err_console, transient=False) as bar:
            job = bar.add_task("", total=len(grid.tasks()))

            def progress(done: int, total: int, record: dict | None) -> None:
                note = "" if record is None else f"{record['key']}: {record.get('status')}"
                bar.update(job, completed=done, description=note)

            payload = run_campaign(grid, out, executor="ray" if ray else "local", address=ray,
                                   workers=workers, progress=progress)
        render_dir(out)
        document = read_json(out / "report.json")
    print_summary(f"mlsiege campaign {grid.name}", payload["summary"], document["findings"])
    err_console.print(f"wrote {out / 'report.json'} and {out / 'report.html'}", highlight=False)
    if fail_on and any(reaches(f["severity"], fail_on) for f in document["findings"]):
        raise typer.Exit(EXIT_FINDINGS)
