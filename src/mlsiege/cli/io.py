"""Reading user files for the CLI with errors that name the file."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from mlsiege.errors import DataValidationError
from mlsiege.schema import Schema

__all__ = ["read_table", "read_schema"]


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet file; a missing, empty or garbled file is a DataValidationError."""
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"data file not found: {path}")
    try:
        if path.suffix.lower() in (".parquet", ".pq"):
            return pd.read_parquet(path)
        frame = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise DataValidationError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from exc
    if frame.empty:
        raise DataValidationError(f"{path} holds no rows")
    return frame


def read_schema(path: str | Path) -> Schema:
    path = Path(path)
    if not path.exists():
        raise DataValidationError(f"schema file not found: {path}")
    return Schema.from_yaml(path)
