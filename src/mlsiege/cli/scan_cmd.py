"""``mlsiege scan`` (assess a model in one command) and ``mlsiege report DIR`` (re-render).

Exit codes: 0 ok, 1 a finding reached ``--fail-on``, 2 bad input (unreadable data, missing
label, a target that raises, a zero budget). The report directory always gets ``report.json``
and ``report.html`` holding whatever finished, even when the scan stopped early.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import typer

from mlsiege.cli.console import (
    EXIT_BAD_INPUT,
    EXIT_FINDINGS,
    err_console,
    fail,
    progress_bar,
    single_threaded,
    user_errors,
)
from mlsiege.cli.summary import print_summary
from mlsiege.errors import ConfigError, MlsiegeError
from mlsiege.report.findings import SEVERITIES, reaches

__all__ = ["report", "scan"]


def scan(
    target: str = typer.Option(..., "--target", help="Model SPEC: model.joblib, model.onnx, http(s)://..., module:callable."),
    data: Path = typer.Option(..., "--data", help="CSV (or Parquet) of rows the model scores, with the label column."),
    label: str = typer.Option(..., "--label", help="Label column; dropped from the features and the schema."),
    schema_path: Path = typer.Option(..., "--schema", help="Schema YAML (mlsiege schema infer drafts one)."),
    budget: int = typer.Option(..., "--budget", help="Total target queries for the whole scan."),
    out: Path = typer.Option(..., "--out", help="Directory for report.json and report.html."),
    trainer: str | None = typer.Option(None, "--trainer", help="Unfitted model SPEC (module:Factory or .joblib) for the poisoning step."),
    fail_on: str | None = typer.Option(None, "--fail-on", help="Exit 1 when a finding reaches this severity (info..critical)."),
    seed: int = typer.Option(0, "--seed", help="Seed of every random choice."),
    scale: str = typer.Option("std", "--scale", help="Distance unit of every evasion figure: std (over the data rows), range, raw."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress lines and no terminal summary."),
) -> None:
    """Assess a model: evasion, extraction, output hardening and poisoning within one budget."""
    from mlsiege.report.rules import scan_findings
    from mlsiege.scenarios.scan import ScanConfig, run_scan
    from mlsiege.scenarios.scan_inputs import load_scan_inputs, load_trainer
    from mlsiege.scenarios.scan_recipes import default_recipes
    from mlsiege.targets import load_target

    if fail_on is not None and fail_on not in SEVERITIES:
        raise fail(f"--fail-on must be one of {', '.join(SEVERITIES)}, got {fail_on!r}")
    bar = progress_bar(quiet)
    say = (lambda line: None) if quiet else (lambda line: bar.console.print(f"[dim]scan[/] {line}", highlight=False))
    tasks: dict[str, Any] = {}

    def tick(step: str, done: int, total: int) -> None:
        if step not in tasks:
            tasks[step] = bar.add_task(step, total=total)
        bar.update(tasks[step], completed=done, total=total)
    payload: dict[str, Any] = {"target": {"spec": target}, "data": {"path": str(data), "label": label},
                               "steps": [], "error": None}
    try:
        config = ScanConfig(budget=budget, seed=seed, scale=scale)
        schema, X, y, info = load_scan_inputs(data, label, schema_path)
        payload["data"] = info
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # the unpickling warning: --target is the user's own file
            try:
                model = load_target(target, schema=schema)
            except MlsiegeError:
                raise
            except (AttributeError, TypeError, ValueError) as exc:  # an object no adapter fits
                raise ConfigError(f"cannot use {target} as a target: {exc}") from exc
        trainer_obj = load_trainer(trainer) if trainer else None
        with bar, single_threaded():
            outcome = run_scan(model, X, y, schema=schema, config=config, recipes=default_recipes(),
                               trainer=trainer_obj, progress=say, tick=tick)
        measured = outcome.to_payload()
        payload.update({**measured, "target": {"spec": target, **measured["target"]},
                        "data": {**info, **measured["data"]}})
    except MlsiegeError as exc:
        payload["error"] = str(exc)
    except (OSError, UnicodeDecodeError) as exc:
        payload["error"] = f"cannot read input: {exc}"
    findings = scan_findings(payload)
    payload["findings"] = [f.to_dict() for f in findings]
    written = _write(out, payload)
    if not quiet:
        from mlsiege.report.render import scan_summary

        print_summary("mlsiege scan", scan_summary(payload), findings)
        err_console.print(f"wrote {written}", highlight=False)
    if payload["error"]:
        raise fail(payload["error"], EXIT_BAD_INPUT)
    if fail_on and any(reaches(f.severity, fail_on) for f in findings):
        err_console.print(f"a finding reaches --fail-on {fail_on}: exit {EXIT_FINDINGS}", highlight=False)
        raise typer.Exit(EXIT_FINDINGS)


def _write(out: Path, payload: dict[str, Any]) -> str:
    """Write report.json, then report.html; a failing HTML render never loses the JSON."""
    from mlsiege.report.json_report import read_json, write_json
    from mlsiege.report.render import render_document

    with user_errors():
        path = write_json(out / "report.json", payload, kind="scan")
        try:
            render_document(read_json(path)).write(out / "report.html")
        except MlsiegeError as exc:  # e.g. plotly missing: keep the JSON, say why there is no HTML
            err_console.print(f"[yellow]warning:[/] no report.html: {exc}", highlight=False)
            return str(path)
    return f"{out / 'report.json'} and {out / 'report.html'}"


def report(
    directory: Path = typer.Argument(..., help="A report directory holding report.json."),
    quiet: bool = typer.Option(False, "--quiet", help="No terminal summary."),
) -> None:
    """Re-render DIR/report.html from DIR/report.json (no model or data needed)."""
    from mlsiege.report.json_report import read_json
    from mlsiege.report.render import render_dir, scan_summary

    with user_errors():
        document = read_json(directory / "report.json")
        path = render_dir(directory)
    if not quiet:
        summary = scan_summary(document) if document.get("kind") == "scan" else dict(document.get("summary") or {})
        print_summary(f"mlsiege {document.get('kind', 'report')}", summary, document.get("findings", []))
    err_console.print(f"wrote {path}", highlight=False)
