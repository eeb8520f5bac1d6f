"""``mlsiege attack extract``: copy a prediction API into a local surrogate and say what it rejects."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from mlsiege.cli.console import console, user_errors
from mlsiege.errors import ConfigError, DataValidationError

if TYPE_CHECKING:
    import numpy as np

KINDS = {
    "active": "active_extraction_chandrasekaran2020",
    "equation": "equation_solving_tramer2016",
    "pathfinding": "path_finding_tramer2016",
}


def _load(spec: str, schema, threshold: float | None, decode: bool = False):
    from mlsiege.targets import ThresholdOracle, load_target

    # a model fitted on a DataFrame gets named, decoded columns; --decode forces it for one that does not say so
    raw = load_target(spec, schema=schema, decode=True if decode else None)
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


BOX_WARNING = (
    "no --data: fidelity is measured on {n} uniform rows of the schema's box, not on real rows. It says "
    "how well the copy agrees where nobody sends traffic and can be far above its agreement on real rows "
    "(pass --data: a share of it, never used to train the copy, measures fidelity instead)"
)


def _pool_and_eval(schema, data: Path | None, holdout: float, seed: int) -> tuple[np.ndarray | None, np.ndarray, str, str]:
    """The attacker's pool, the evaluation rows, what they are (for a reader) and ``data``/``box``."""
    import numpy as np

    from mlsiege.attacks.extraction.synthesis import Box, box_samples, feasible
    from mlsiege.cli.io import read_table

    rng = np.random.default_rng(seed)
    if data is not None:
        X = schema.encode(read_table(data))
        X = X[~np.isnan(X).any(axis=1)]
        X = X[schema.valid_mask(X)]
        if len(X) < 2:
            raise DataValidationError(f"{data} holds fewer than 2 rows that satisfy the schema")
        order = rng.permutation(len(X))
        n_eval = max(1, int(round(holdout * len(X))))
        what = f"{n_eval} held-out rows of {data.name} (real rows the copy never trained on)"
        return X[order[n_eval:]], X[order[:n_eval]], what, "data"
    E = feasible(schema, box_samples(schema, Box.of(schema), 500, rng))
    return None, E, f"{len(E)} uniform rows of the schema's box (not real rows)", "box"


def _fidelity_line(report: dict, what: str) -> str:
    if report is None:
        return f"fidelity n/a (no surrogate) on {what}"
    low, high = report["fidelity_ci"]
    return (f"fidelity {report['fidelity']:.3f} (95% CI {low:.3f}-{high:.3f}) on {what}; "
            f"a constant copy would agree on {report['fidelity_constant']:.3f}")


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
    decode: bool = typer.Option(False, "--decode", help="Decode rows to named columns/levels even when the model does not record its column names."),
    seed: int = typer.Option(0, "--seed"),
) -> None:
    """Extract TARGET within BUDGET queries; write the surrogate, its fidelity curve and the rules it learned.

    Fidelity is measured on held-out rows labelled by the target outside the budget (you own the
    model under test): a share of --data the copy never trains on (fidelity_rows: data), else
    uniform rows of the schema's box (fidelity_rows: box, with a warning), with its 95% interval.
    """
    import joblib
    import numpy as np

    import mlsiege.attacks.extraction as ex
    from mlsiege.attacks.extraction.rules import rules_from_extraction
    from mlsiege.cli.io import read_schema
    from mlsiege.metrics.extraction import fidelity_report
    from mlsiege.targets import Budgeted

    with user_errors():
        if kind not in KINDS:
            raise ConfigError(f"--kind must be one of {', '.join(KINDS)}, got {kind!r}")
        schema = read_schema(schema_path)
        raw = _load(target, schema, threshold, decode)
        pool, eval_X, eval_what, eval_rows = _pool_and_eval(schema, data, holdout, seed)
        eval_y = np.asarray(raw.predict(eval_X))
        api = Budgeted(raw, budget)
        recipe = getattr(ex, KINDS[kind])
        options = {"eval_X": eval_X, "eval_y": eval_y} if kind == "active" else {}
        result = recipe(api, schema=schema, pool_X=pool, budget=budget, seed=seed, **options)
        surrogate = result.artifacts.get("surrogate")
        curve = list(result.artifacts.get("fidelity_curve") or [])
        final = report = None
        if surrogate is not None:
            report = fidelity_report(surrogate, eval_X, eval_y, eval_rows)
            final = report["fidelity"]
            if not curve or curve[-1]["queries"] != result.queries:
                curve.append({"queries": result.queries, "fidelity": final})
        rules = rules_from_extraction(result, schema, reject=reject, seed=seed)
        out.mkdir(parents=True, exist_ok=True)
        joblib.dump(surrogate, out / "surrogate.joblib")
        honest = {**(report or {"fidelity": None, "fidelity_rows": eval_rows, "fidelity_n": len(eval_X)}),
                  "evaluated_on": eval_what}
        if eval_rows == "box":
            honest["fidelity_warning"] = BOX_WARNING.format(n=len(eval_X))
        (out / "fidelity.json").write_text(json.dumps(
            {"method": KINDS[kind], "queries": result.queries, **honest, "curve": curve}, indent=2))
        (out / "rules.txt").write_text(rules.to_text() + "\n")
        (out / "summary.json").write_text(json.dumps({**result.to_dict(), **honest}, indent=2))
    if eval_rows == "box":
        console.print(f"[yellow]warning:[/] {honest['fidelity_warning']}", highlight=False)
    console.print(f"{KINDS[kind]}: {result.status}, {result.queries} queries, {_fidelity_line(report, eval_what)}",
                  highlight=False)
    console.print(rules.to_text(), markup=False, highlight=False)
    console.print(f"wrote {out}/surrogate.joblib, fidelity.json, rules.txt, summary.json")
