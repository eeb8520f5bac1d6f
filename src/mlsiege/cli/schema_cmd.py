"""``mlsiege schema``: infer a draft schema from data, check data against a schema."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.table import Table

from mlsiege.cli.console import EXIT_FINDINGS, console, user_errors
from mlsiege.errors import ConfigError

#: schema.infer.DEFAULT_MAX_LEVELS, repeated here so --help does not import pandas (a test keeps them equal)
DEFAULT_MAX_LEVELS = 1000

app = typer.Typer(help="Describe a feature space and check data against it.", no_args_is_help=True)


HEADER = """\
# Drafted by `mlsiege schema infer` from {data}: types, levels and observed bounds.
# Constraints marked `inferred: true` held on every row ({support} rows checked) and would rarely
# hold by chance; delete an entry to drop it, edit it to loosen it (`tolerance:` adds slack to an
# inequality), or add the relations only you know. See docs/schema.md.
"""


@app.command("infer")
def infer(
    data: Path = typer.Argument(..., help="CSV or Parquet file."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the schema YAML."),
    immutable: list[str] = typer.Option([], "--immutable", help="Columns the attacker cannot change."),
    exclude: list[str] = typer.Option([], "--exclude", help="Columns to leave out (a label, an id)."),
    max_levels: int = typer.Option(DEFAULT_MAX_LEVELS, "--max-levels", help="Most levels of a text column (0: no limit)."),
    binary_01: bool = typer.Option(False, "--binary-01", help="Type integer columns seen only at 0 and 1 as binary."),
    relations: bool = typer.Option(True, "--relations/--no-relations", help="Propose relations that hold on every row."),
    max_relations: int = typer.Option(20, "--max-relations", help="Most relations proposed."),
) -> None:
    """Draft a schema (types, bounds, levels, relations mined from DATA); edit it, then use it."""
    from mlsiege.cli.io import read_table
    from mlsiege.schema import Schema
    from mlsiege.schema.infer import infer_features
    from mlsiege.schema.mining import mine_relations

    with user_errors():
        if max_levels < 0 or max_relations < 0:
            raise ConfigError("--max-levels and --max-relations must be >= 0")
        frame = read_table(data)
        features = infer_features(frame, immutable=immutable, exclude=exclude,
                                  max_levels=max_levels or None, binary_01=binary_01)
        mined = mine_relations(frame, features, max_relations=max_relations) if relations and max_relations else None
        schema = Schema(features, mined.constraints if mined else ())
        output.write_text(HEADER.format(data=data.name, support=len(frame)) + schema.to_yaml())
    kinds = ", ".join(f"{n} {t}" for t, n in _count(f.type for f in features).items())
    console.print(f"wrote {output}: {schema.n_features} features ({kinds}); bounds are the observed range")
    if mined is not None:
        console.print(f"{len(mined.constraints)} relations proposed (held on every row of {len(frame)}; "
                      f"{mined.found} of {mined.tried} candidates passed the chance test), marked inferred:")
        for c in mined.constraints:
            console.print(f"  {c.expr}", highlight=False, markup=False)
        for note in mined.notes:
            console.print(f"[yellow]note:[/] {note}", highlight=False)


def _count(items) -> dict[str, int]:
    out: dict[str, int] = {}
    for item in items:
        out[item] = out.get(item, 0) + 1
    return out


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
