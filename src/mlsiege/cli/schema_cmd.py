"""``mlsiege schema``: infer a draft schema from data, check data against a schema."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import EXIT_FINDINGS, console, user_errors

app = typer.Typer(help="Describe a feature space and check data against it.", no_args_is_help=True)


@app.command("infer")
def infer(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the schema YAML."),
    immutable: list[str] = typer.Option([], "--immutable", help="Columns the attacker cannot change."),
    exclude: list[str] = typer.Option([], "--exclude", help="Columns to leave out (a label, an id)."),
) -> None:
    """Draft a schema (types, bounds, levels) from DATA; edit it to add relations."""
    from mlsiege.cli.io import read_table
    from mlsiege.schema import infer_schema

    with user_errors():
        schema = infer_schema(read_table(data), immutable=immutable, exclude=exclude)
        schema.to_yaml(output)
    console.print(f"wrote {output}: {schema.n_features} features (bounds are the observed range; add relations by hand)")


@app.command("check")
def check(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    schema_path: Path = typer.Option(..., "--schema", help="Schema YAML."),
    show: int = typer.Option(10, help="How many violations to list."),
) -> None:
    """Count rows of DATA that break the schema; exit 1 when any does."""
    from mlsiege.cli.io import read_schema, read_table

    with user_errors():
        schema = read_schema(schema_path)
        frame = read_table(data)
        valid, violations = schema.check_frame(frame)
    bad = int((~valid).sum())
    console.print(f"{len(valid)} rows, {len(valid) - bad} valid, {bad} invalid")
    if bad:
        table = Table("row", "rule", "amount")
        for v in violations[:show]:
            table.add_row(str(v.row), v.rule, "unknown level" if v.amount == float("inf") else f"{v.amount:.4g}")
        console.print(table)
        raise typer.Exit(EXIT_FINDINGS)
