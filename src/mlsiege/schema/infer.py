"""Draft a schema from a DataFrame; a user then edits mutability, directions and relations."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from mlsiege.errors import DataValidationError
from mlsiege.schema.features import Feature
from mlsiege.schema.schema import Schema

__all__ = ["DEFAULT_MAX_LEVELS", "infer_features", "infer_schema"]

#: most levels a text column may have before inference refuses it (``max_levels``)
DEFAULT_MAX_LEVELS = 1000


def infer_features(
    frame: pd.DataFrame,
    *,
    immutable: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_levels: int | None = DEFAULT_MAX_LEVELS,
    binary_01: bool = False,
) -> list[Feature]:
    """Types, bounds and levels of every column (see :func:`infer_schema`)."""
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
            if binary_01 and set(np.unique(col)) <= {0, 1}:
                features.append(Feature(str(name), "binary", mutability=mut))
            else:
                features.append(Feature(str(name), "integer", lo, hi, mutability=mut))
        elif pd.api.types.is_float_dtype(col):
            values = col.dropna()
            if values.empty:
                raise DataValidationError(f"column {name!r} holds no values", columns=[str(name)])
            features.append(Feature(str(name), "real", float(values.min()), float(values.max()), mutability=mut))
        else:
            levels = sorted({str(v) for v in col.dropna()})
            if not levels:
                raise DataValidationError(f"column {name!r} holds no values", columns=[str(name)])
            if max_levels is not None and len(levels) > max_levels:
                unique = len(levels) == int(col.notna().sum())
                raise DataValidationError(
                    f"column {name!r} has {len(levels)} distinct text values (> --max-levels {max_levels})"
                    + (", one per row: an identifier? --exclude it" if unique else
                       ": raise --max-levels to keep it as a categorical, or --exclude it"),
                    columns=[str(name)],
                )
            features.append(Feature(str(name), "categorical", levels=tuple(levels), mutability=mut))
    return features


def infer_schema(
    frame: pd.DataFrame,
    *,
    immutable: Iterable[str] = (),
    exclude: Iterable[str] = (),
    max_levels: int | None = DEFAULT_MAX_LEVELS,
    binary_01: bool = False,
    relations: bool = False,
    max_relations: int = 20,
) -> Schema:
    """Infer types, bounds and (optionally) relations from data.

    Integer columns become ``integer`` with their observed range (a column seen only at 0 and 1
    is ``integer`` in [0, 1]; ``binary_01=True`` calls it ``binary``), float columns ``real``,
    boolean columns ``binary``, and text or category columns ``categorical`` with their levels
    (at most ``max_levels``, ``None`` for no limit; more is refused with a message naming the
    column). Bounds are the observed min/max: values outside what was seen are flagged by
    ``schema check``. With ``relations=True`` the relations that hold on every row are proposed
    too (:func:`mlsiege.schema.mining.mine_relations`), marked ``inferred``; ``mlsiege schema
    infer`` mines them by default.

    Examples
    --------
    >>> import pandas as pd
    >>> s = infer_schema(pd.DataFrame({"age": [20, 30], "c": ["a", "b"], "flag": [0, 1]}))
    >>> [(f.name, f.type) for f in s.features]
    [('age', 'integer'), ('c', 'categorical'), ('flag', 'integer')]
    """
    features = infer_features(frame, immutable=immutable, exclude=exclude, max_levels=max_levels, binary_01=binary_01)
    if not relations:
        return Schema(features)
    from mlsiege.schema.mining import mine_relations

    return Schema(features, mine_relations(frame, features, max_relations=max_relations).constraints)
