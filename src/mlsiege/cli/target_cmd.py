"""``mlsiege target probe``: load any target SPEC, send a few rows, show what it answered."""

from __future__ import annotations

import warnings
from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import console, user_errors

app = typer.Typer(help="Load and query the model under test.", no_args_is_help=True)


@app.command("probe")
def probe(
    target: str = typer.Option(..., help="SPEC: model.joblib | model.onnx | http(s)://... | module:callable"),
    data: Path = typer.Option(..., help="CSV with the feature columns."),
    schema_path: Path | None = typer.Option(None, "--schema", help="Schema YAML (inferred when omitted)."),
    rows: int = typer.Option(5, min=1, help="How many rows to send."),
    kind: str | None = typer.Option(None, help="classifier | scorer | regressor (guessed when omitted)."),
) -> None:
    """Send ROWS rows of DATA to TARGET and print the answers and the queries spent."""
    import numpy as np

    from mlsiege.cli.io import read_schema, read_table
    from mlsiege.schema import infer_schema
    from mlsiege.targets import Budgeted, load_target

    with user_errors():
        frame = read_table(data)
        schema = read_schema(schema_path) if schema_path else infer_schema(frame)
        X = schema.encode(frame.head(rows))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = load_target(target, schema=schema, kind=kind)
        for w in caught:
            console.print(f"[yellow]warning:[/] {w.message}")
        budgeted = Budgeted(model, max_queries=rows)
        table = Table("row")
        columns: list[np.ndarray] = []
        for method in ("predict", "predict_proba", "score"):
            if hasattr(budgeted, method):
                # each answer is paid for: a second method costs the same rows again
                budgeted.max_queries = budgeted.queries_used + len(X)
                out = np.asarray(getattr(budgeted, method)(X))
                table.add_column(method)
                columns.append(out)
        for i in range(len(X)):
            table.add_row(str(i), *[_fmt(c[i]) for c in columns])
    console.print(table)
    console.print(f"queries spent: {budgeted.queries_used} rows in {budgeted.calls} calls")


def _fmt(value: object) -> str:
    import numpy as np

    arr = np.asarray(value)
    if arr.ndim:
        return "[" + ", ".join(f"{v:.3g}" for v in arr.ravel()) + "]"
    return f"{arr.item():.4g}" if np.issubdtype(arr.dtype, np.floating) else str(arr.item())
