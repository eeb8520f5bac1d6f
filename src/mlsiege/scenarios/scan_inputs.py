"""What a scan reads from the user: the data with its label, the schema, the trainer.

Shared by ``mlsiege scan`` and campaign tasks (which run in worker processes, without the CLI).
"""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError, DataValidationError
from mlsiege.schema import Schema

__all__ = ["load_scan_inputs", "load_trainer", "read_rows"]


def read_rows(path: str | Path) -> pd.DataFrame:
    """A CSV or Parquet file; a missing, empty or garbled file is a :class:`DataValidationError`."""
    path = Path(path)
    if not path.is_file():
        raise DataValidationError(f"data file not found: {path}")
    try:
        frame = pd.read_parquet(path) if path.suffix.lower() in (".parquet", ".pq") else pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError, OSError) as exc:
        raise DataValidationError(f"cannot parse {path}: {str(exc).splitlines()[0]}") from exc
    if frame.empty:
        raise DataValidationError(f"{path} holds no rows")
    return frame


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


def load_trainer(spec: str) -> Any:
    """An unfitted estimator from ``--trainer SPEC`` (``pkg.mod:Factory`` or a ``.joblib`` file).

    A class or zero-argument factory is called; an estimator (fitted or not) is cloned.
    """
    from sklearn.base import clone

    if spec.lower().endswith((".joblib", ".pkl", ".pickle")):
        import joblib

        if not Path(spec).is_file():
            raise ConfigError(f"trainer file not found: {spec}")
        obj = joblib.load(spec)
    elif ":" in spec:
        module_name, _, attr = spec.partition(":")
        try:
            obj = getattr(importlib.import_module(module_name), attr)
        except (ImportError, AttributeError) as exc:
            raise ConfigError(f"cannot import trainer {spec!r}: {exc}") from exc
        if isinstance(obj, type) or (callable(obj) and not hasattr(obj, "fit")):
            obj = obj()
    else:
        raise ConfigError(f"--trainer must be module:Factory or a .joblib file, got {spec!r}")
    if not hasattr(obj, "fit"):
        raise ConfigError(f"trainer {spec!r} has no fit()")
    try:
        return clone(obj)
    except TypeError as exc:
        raise ConfigError(f"trainer {spec!r} cannot be cloned: {exc}") from exc
