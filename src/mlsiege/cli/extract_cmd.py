"""``mlsiege attack extract``: copy a prediction API into a local surrogate and say what it rejects."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import typer

from mlsiege.cli.console import console, user_errors
from mlsiege.cli.io import read_schema, read_table
from mlsiege.errors import ConfigError, DataValidationError

KINDS = {
    "active": "active_extraction_chandrasekaran2020",
    "equation": "equation_solving_tramer2016",
    "pathfinding": "path_finding_tramer2016",
}


def _load(spec: str, schema, threshold: float | None):
    from mlsiege.targets import ThresholdOracle, load_target

    raw = load_target(spec, schema=schema)
    if hasattr(raw, "predict"):
        if threshold is not None:
            raise ConfigError("--threshold applies to an anomaly scorer, but the target is a classifier")
        return raw
    if not hasattr(raw, "score"):
        raise ConfigError(f"target {spec!r} offers neither predict() nor score()")
    threshold = getattr(raw, "threshold", None) if threshold is None else threshold
    if threshold is None or not math.isfinite(threshold):
        raise ConfigError("the target is an anomaly scorer without a known threshold: pass --threshold")
    return ThresholdOracle(raw, float(threshold))


def _pool_and_eval(schema, data: Path | None, holdout: float, seed: int) -> tuple[np.ndarray | None, np.ndarray, str]:
    from mlsiege.attacks.extraction.synthesis import Box, box_samples, feasible

    rng = np.random.default_rng(seed)
    if data is not None:
        X = schema.encode(read_table(data))
        X = X[~np.isnan(X).any(axis=1)]
        X = X[schema.valid_mask(X)]
        if len(X) < 2:
            raise DataValidationError(f"{data} holds fewer than 2 rows that satisfy the schema")
        order = rng.permutation(len(X))
        n_eval = max(1, int(round(holdout * len(X))))
        return X[order[n_eval:]], X[order[:n_eval]], f"{n_eval} held-out rows of {data.name}"
    E = feasible(schema, box_samples(schema, Box.of(schema), 500, rng))
    return None, E, f"{len(E)} random rows of the schema's box"


def extract(
    target: str = typer.Option(..., "--target", help="Target SPEC: model.joblib, model.onnx, http(s)://..., module:callable."),
    schema_path: Path = typer.Option(..., "--schema", help="Schema YAML (the feature space queries must satisfy)."),
    budget: int = typer.Option(..., "--budget", min=1, help="Queries the extraction may send (hard cap)."),
    out: Path = typer.Option(..., "--out", help="Output directory: surrogate.joblib, fidelity.json, rules.txt, summary.json."),
    data: Path | None = typer.Option(None, "--data", help="CSV/Parquet of rows the attacker has (an unlabeled pool)."),
    kind: str = typer.Option("active", "--kind", help=f"Method: {', '.join(KINDS)}."),
    threshold: float | None = typer.Option(None, "--threshold", help="Accept/reject threshold of an anomaly scorer (1 = rejected)."),
    reject: int = typer.Option(1, "--reject", help="The answer that means rejected (for the rule list)."),
    holdout: float = typer.Option(0.3, "--holdout", min=0.05, max=0.9, help="Share of --data kept aside to measure fidelity."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Extract TARGET within BUDGET queries; write the surrogate, its fidelity curve and the rules it learned.

    Fidelity is measured on held-out rows (a share of --data, else random rows of the schema's
    box) labelled by the target outside the budget: you own the model under test.
    """
    import joblib

    import mlsiege.attacks.extraction as ex
    from mlsiege.attacks.extraction.rules import rules_from_extraction
    from mlsiege.targets import Budgeted

    with user_errors():
        if kind not in KINDS:
            raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
        schema = read_schema(schema_path)
        raw = _load(target, schema, threshold)
        pool, eval_X, eval_what = _pool_and_eval(schema, data, holdout, seed)
        eval_y = np.asarray(raw.predict(eval_X))
        api = Budgeted(raw, budget)
        recipe = getattr(ex, KINDS[kind])
        options = {"eval_X": eval_X, "eval_y": eval_y} if kind == "active" else {}
        result = recipe(api, schema=schema, pool_X=pool, budget=budget, seed=seed, **options)
        surrogate = result.artifacts.get("surrogate")
        curve = list(result.artifacts.get("fidelity_curve") or [])
        final = None
        if surrogate is not None:
            final = float(np.mean(np.asarray(surrogate.predict(eval_X)) == eval_y))
            if not curve or curve[-1]["queries"] != result.queries:
                curve.append({"queries": result.queries, "fidelity": final})
        rules = rules_from_extraction(result, schema, reject=reject, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        joblib.dump(surrogate, out / "surrogate.joblib")
        (out / "fidelity.json").write_text(json.dumps(
            {"method": KINDS[kind], "queries": result.queries, "fidelity": final, "evaluated_on": eval_what, "curve": curve},
            indent=2))
        (out / "rules.txt").write_text(rules.to_text() + "\n")
        (out / "summary.json").write_text(json.dumps(result.to_dict(), indent=2))
    console.print(f"{KINDS[kind]}: {result.status}, {result.queries} queries, fidelity "
                  f"{'n/a' if final is None else f'{final:.3f}'} on {eval_what}")
    console.print(rules.to_text(), markup=False, highlight=False)
    console.print(f"wrote {out}/surrogate.joblib, fidelity.json, rules.txt, summary.json")
