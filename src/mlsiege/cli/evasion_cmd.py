"""``mlsiege attack evasion``: black-box evasion of the rows of a table, under a schema."""

from __future__ import annotations

import json
import math
import signal
from pathlib import Path

import typer

from mlsiege.cli.console import console, err_console, progress_bar, single_threaded, user_errors
from mlsiege.cli.names import RecipeTable
from mlsiege.errors import ConfigError, DataValidationError


def _evasion():  # noqa: ANN202 - the family package, imported on first lookup
    from mlsiege.attacks import evasion

    return evasion


#: public kind -> recipe (resolved on first lookup, so --help stays fast)
KINDS = RecipeTable(_evasion, {
    "hsj": "hopskipjump_chen2020",
    "walk": "boundary_walk_brendel2018",
    "moeva": "moeva_simonetto2022",
    "greedy": "sparse_greedy_search",
    "probe": "one_feature_probe",
    "threshold": "threshold_bisection",
})
#: distance units (mlsiege.attacks.evasion.units.SCALES, named here so --help imports nothing)
SCALES = ("std", "range", "raw")


def _target(spec: str, schema, decode: bool | None, threshold: float | None):
    from mlsiege.targets import ThresholdOracle, load_target

    # a model fitted on a DataFrame gets named, decoded columns unless --no-decode
    raw = load_target(spec, schema=schema, decode=decode)
    if hasattr(raw, "predict"):
        if threshold is not None:
            raise ConfigError("--threshold applies to an anomaly scorer, but the target is a classifier")
        return raw
    if not hasattr(raw, "score"):
        raise ConfigError(f"target {spec!r} offers neither predict() nor score()")
    if threshold is None:
        threshold = getattr(raw, "threshold", float("nan"))
        if threshold is None or not math.isfinite(threshold):
            raise ConfigError("the target is an anomaly scorer without a known threshold: pass --threshold")
    return ThresholdOracle(raw, float(threshold))


def evasion(
    target: str = typer.Option(..., "--target", help="Target SPEC: model.joblib, model.onnx, http(s)://..., module:callable."),
    data: Path = typer.Option(..., "--data", help="CSV or Parquet of the rows to attack."),
    schema_path: Path = typer.Option(..., "--schema", help="Schema YAML (feature space and constraints)."),
    budget: int = typer.Option(250, "--budget", help="Queries per row (hard cap)."),
    out: Path = typer.Option(..., "--out", help="Output directory (points.csv, adversarial.csv, summary.json)."),
    label: str | None = typer.Option(None, "--label", help="Column holding each row's original label (saves one query per row)."),
    kind: str = typer.Option("hsj", "--kind", help=f"Attack: {', '.join(KINDS)}."),
    threshold: float | None = typer.Option(None, "--threshold", help="Accept/reject threshold of an anomaly scorer (evading = accepted)."),
    pool: Path | None = typer.Option(None, "--pool", help="CSV/Parquet of rows the attacker knows (starts); labels from --label if present."),
    target_label: str | None = typer.Option(None, "--target-label", help="Targeted attack: the label to reach."),
    total_budget: int | None = typer.Option(None, "--total-budget", help="Cap on all queries of the run."),
    decode: bool | None = typer.Option(None, "--decode/--no-decode", help="Send named columns/levels to the model (default: when it was fitted on a DataFrame)."),
    scale: str = typer.Option("std", "--scale", help=f"Distance unit: {', '.join(SCALES)} (std over the --pool rows, else the --data rows)."),
    resume: bool = typer.Option(False, "--resume", help="Continue an interrupted run in OUT (same options), attacking only the rows not yet in points.csv."),
    quiet: bool = typer.Option(False, "--quiet", help="No progress bar."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Find, for each row of DATA, a valid row the target labels differently (or --target-label).

    Writes the per-row results as each row finishes (points.csv: success, queries, L0/L2/L-inf raw
    and in the run's distance unit, failure reason; adversarial.csv: the successful rows decoded),
    then a JSON summary naming its distance_unit. Ctrl-C keeps every finished row and writes the
    summary of what finished; rerun with --resume to continue.
    """
    import numpy as np

    from mlsiege.attacks.evasion.runner import POINT_COLUMNS
    from mlsiege.attacks.evasion.units import distance_unit
    from mlsiege.cli.io import read_schema, read_table
    from mlsiege.cli.run_files import RunFiles
    from mlsiege.targets import Budgeted

    with user_errors():
        if kind not in KINDS:
            raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
        schema = read_schema(schema_path)
        frame = read_table(data)
        y = None
        if label is not None:
            if label not in frame.columns:
                raise DataValidationError(f"--label column {label!r} is not in {data}", columns=[label])
            y = frame[label].to_numpy()
        X = schema.encode(frame)
        bad = np.flatnonzero(np.isnan(X).any(axis=1))
        if len(bad):
            raise DataValidationError(f"{data} has missing values or unknown levels", rows=bad.tolist())
        pool_X = pool_y = None
        if pool is not None:
            pframe = read_table(pool)
            pool_X = schema.encode(pframe)
            keep = ~np.isnan(pool_X).any(axis=1)
            pool_X = pool_X[keep]
            if label is not None and label in pframe.columns:
                pool_y = pframe[label].to_numpy()[keep]
        known, source = (pool_X, "pool") if pool_X is not None and len(pool_X) >= 2 else (X, "attacked")
        unit = distance_unit(scale, schema, known, source)
        tl = None if target_label is None else _parse(target_label)
        options = {"target": target, "data": str(data), "schema": str(schema_path), "kind": kind, "budget": budget,
                   "label": label, "threshold": threshold, "pool": None if pool is None else str(pool),
                   "target_label": target_label, "total_budget": total_budget, "scale": scale, "seed": seed}
        files = RunFiles(out, POINT_COLUMNS, schema, X)
        done = files.start(options, resume)
        todo = np.array([i for i in range(len(X)) if i not in done], dtype=int)
        spent = int(files.finished()["queries"].sum()) if done else 0
        cap = None if total_budget is None else max(0, total_budget - spent)
        t = Budgeted(_target(target, schema, decode, threshold), cap)
    recipe = KINDS[kind]
    result, interrupted, handler = None, False, None
    with progress_bar(quiet) as bar:
        task = bar.add_task(f"{kind} evasion", total=len(X), completed=len(done))

        def finished(record: dict) -> None:
            files.append(record)
            bar.advance(task)

        try:
            with user_errors(), single_threaded():
                if len(todo):
                    result = recipe(t, X[todo], schema=schema, pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed,
                                    y=None if y is None else y[todo], target_label=tl, scale=unit.scale,
                                    on_point=finished, point_ids=todo)
        except KeyboardInterrupt:
            handler = signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut the summary short
            interrupted = True
    try:
        with user_errors():
            summary = _summary(result, files.finished(), len(X), unit, recipe.__name__, options, interrupted)
            (out / "summary.json").write_text(json.dumps(summary, indent=2))
    finally:
        if handler is not None:
            signal.signal(signal.SIGINT, handler)
    m = summary["metrics"]
    rows = f"{m['rows_done']}/{len(X)} rows"
    if interrupted:
        err_console.print(f"interrupted: {rows} finished and kept in {out}/points.csv; continue with the same command and --resume",
                          highlight=False)
        raise typer.Exit(130)
    console.print(
        f"{summary['attack']}: {m['successes']}/{len(X)} rows evaded ({summary['status']}), "
        f"median {m['median_queries']} queries, median L2 {_fmt(m['median_l2'])} in {unit.name} units "
        f"({summary['metrics']['distance_unit']['text']}), valid_rate {m['valid_rate']:.2f}; "
        f"wrote {out}/points.csv, adversarial.csv, summary.json"
    )


def _fmt(value) -> str:
    return "n/a" if value is None else f"{value:.3g}"


def _summary(result, table, n: int, unit, attack: str, options: dict, interrupted: bool) -> dict:
    """The run's summary from every finished row (earlier runs' included when resumed)."""
    import numpy as np

    from mlsiege.attacks.evasion.runner import summarize_points
    from mlsiege.results import to_jsonable

    metrics = summarize_points(table) if len(table) else {"success_rate": 0.0, "median_queries": None,
                                                          "median_l2": None, "valid_rate": 1.0}
    success = table["success"].astype(bool).to_numpy() if len(table) else np.zeros(0, dtype=bool)
    metrics.update(rows_done=int(len(table)), rows_total=int(n), successes=int(success.sum()),
                   success_rate_of_all_rows=float(success.sum() / n) if n else 0.0,
                   distance_unit=unit.describe())
    if interrupted:
        status = "interrupted"
    elif len(table) == n and success.all():
        status = "succeeded"
    elif result is not None and result.status == "budget_exhausted":
        status = "budget_exhausted"
    else:
        status = "partial" if success.any() else "failed"
    base = result.to_dict() if result is not None else {"attack": attack, "seed": options["seed"]}
    base.update(status=status, metrics=metrics, valid_rate=metrics["valid_rate"], distance_unit=unit.describe(),
                options=options, queries_all_rows=int(table["queries"].sum()) if len(table) else 0)
    return to_jsonable(base)


def _parse(text: str):
    try:
        return int(text)
    except ValueError:
        return text
