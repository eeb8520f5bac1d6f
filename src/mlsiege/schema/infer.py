"""Draft a schema from a DataFrame; a user then edits mutability, directions and relations."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mlsiege.errors import DataValidationError
from mlsiege.schema.features import Feature
from mlsiege.schema.schema import Schema

__all__ = ["infer_schema"]


def infer_schema(
    frame: pd.DataFrame,
    *,
    immutable: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_levels: int = 50,
) -> Schema:
    """Infer types and bounds from data.

    Integer columns holding only 0/1 become ``binary``; other integer columns ``integer``; float
    columns ``real``; text, boolean-like and category columns ``categorical`` (with at most
    ``max_levels`` levels, else an error naming the column). Bounds are the observed min/max:
    values outside what was seen are flagged by ``schema check``. Nothing is inferred about
    relations: add them by hand.

    Examples
    --------
    >>> import pandas as pd
    >>> s = infer_schema(pd.DataFrame({"age": [20, 30], "c": ["a", "b"]}))
    >>> [(f.name, f.type) for f in s.features]
    [('age', 'integer'), ('c', 'categorical')]
    """
    if frame.empty or not len(frame.columns):
        raise DataValidationError("cannot infer a schema from empty data")
    immutable, exclude = set(immutable), set(exclude)
    features = []
    for name in frame.columns:
        if name in exclude:
            continue
        col = frame[name]
        mut = "immutable" if name in immutable else "mutable"
        if pd.api.types.is_bool_dtype(col):
            features.append(Feature(str(name), "binary", mutability=mut))
        elif pd.api.types.is_integer_dtype(col):
            lo, hi = int(col.min()), int(col.max())
            kind = "binary" if set(np.unique(col)) <= {0, 1} else "integer"
            features.append(Feature(str(name), kind, None if kind == "binary" else lo, None if kind == "binary" else hi, mutability=mut))
        elif pd.api.types.is_float_dtype(col):
            values = col.dropna()
            if values.empty:
                raise DataValidationError(f"column {name!r} holds no values", columns=[str(name)])
            features.append(Feature(str(name), "real", float(values.min()), float(values.max()), mutability=mut))
        else:
            levels = sorted({str(v) for v in col.dropna()})
            if len(levels) > max_levels:
                raise DataValidationError(
                    f"column {name!r} has {len(levels)} distinct text values (> {max_levels}): "
                    "drop it or encode it before inferring",
                    columns=[str(name)],
                )
            features.append(Feature(str(name), "categorical", levels=tuple(levels), mutability=mut))
    return Schema(features)
