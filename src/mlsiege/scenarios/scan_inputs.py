"""What a scan reads from the user: the data with its label, the schema, the trainer.

Shared by ``mlsiege scan`` and campaign tasks (which run in worker processes, without the CLI).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.datasets.tables import read_table
from mlsiege.errors import DataValidationError
from mlsiege.schema import Schema
from mlsiege.training import load_trainer

__all__ = ["load_scan_inputs", "load_trainer", "read_rows"]


def read_rows(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file, read by :func:`mlsiege.datasets.tables.read_table`."""
    return read_table(path)


def load_scan_inputs(data: str | Path, label: str, schema_path: str | Path) -> tuple[Schema, np.ndarray, np.ndarray, dict[str, Any]]:
    """Read the rows and the schema and drop the label from both.

    Returns ``(schema, X, y, info)``: the schema without the label, the valid rows in attack
    space, their labels, and what was read (``rows_read``, ``rows_dropped`` for rows that do not
    fit the schema).
    """
    frame = read_rows(data)
    if label not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:8]))
        raise DataValidationError(f"label column {label!r} is not in {data} (columns: {shown}...)")
    if not Path(schema_path).is_file():
        raise DataValidationError(f"schema file not found: {schema_path}")
    schema = Schema.from_yaml(Path(schema_path)).drop([label])
    missing = [n for n in schema.names if n not in frame.columns]
    if missing:
        raise DataValidationError(f"{data} lacks the schema's columns {missing[:5]}", columns=missing)
    frame = frame[frame[label].notna()]
    X = schema.encode(frame[list(schema.names)])
    keep = np.all(np.isfinite(X), axis=1)
    keep[keep] = schema.valid_mask(X[keep])
    if not keep.any():
        raise DataValidationError(f"no row of {data} fits the schema {schema_path}")
    info = {"path": str(data), "label": label, "rows_read": int(len(frame)), "rows_dropped": int((~keep).sum())}
    return schema, X[keep], frame[label].to_numpy()[keep], info
