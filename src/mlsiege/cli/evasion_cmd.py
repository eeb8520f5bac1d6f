"""``mlsiege attack evasion``: black-box evasion of the rows of a table, under a schema."""

from __future__ import annotations

import json
import math
from pathlib import Path

import typer

from mlsiege.cli.console import console, user_errors
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


def _target(spec: str, schema, decode: bool, threshold: float | None):
    from mlsiege.targets import ThresholdOracle, load_target

    # a model fitted on a DataFrame gets named, decoded columns whatever --decode says
    raw = load_target(spec, schema=schema, decode=True if decode else None)
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
    decode: bool = typer.Option(False, "--decode", help="Decode rows to named columns/levels before the model sees them."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Find, for each row of DATA, a valid row the target labels differently (or --target-label).

    Writes the per-row results (points.csv: success, queries, L0/L2/L-inf raw and standardized,
    failure reason), the successful adversarial rows decoded (adversarial.csv) and a JSON summary.
    """
    import numpy as np
    import pandas as pd

    from mlsiege.cli.io import read_schema, read_table
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
        tl = None if target_label is None else _parse(target_label)
        t = Budgeted(_target(target, schema, decode, threshold), total_budget)
        recipe = KINDS[kind]
        result = recipe(t, X, schema=schema, pool_X=pool_X, pool_y=pool_y, budget=budget, seed=seed, y=y, target_label=tl)
        out.mkdir(parents=True, exist_ok=True)
        points = pd.DataFrame(result.artifacts["points"]).copy()
        adv = np.asarray(result.artifacts["adversarial"])
        ok = np.asarray(result.artifacts["success"], dtype=bool)
        points.to_csv(out / "points.csv", index=False)
        decoded = schema.decode(np.where(ok[:, None], adv, X))
        decoded.insert(0, "point", np.arange(len(X)))
        decoded[ok].to_csv(out / "adversarial.csv", index=False)
        summary = result.to_dict()
        (out / "summary.json").write_text(json.dumps(summary, indent=2))
    m = result.metrics
    console.print(
        f"{result.attack}: {int(ok.sum())}/{len(ok)} rows evaded ({result.status}), "
        f"median {m['median_queries']} queries, valid_rate {result.valid_rate:.2f}; wrote {out}/points.csv, "
        f"adversarial.csv, summary.json"
    )


def _parse(text: str):
    try:
        return int(text)
    except ValueError:
        return text
