"""What a fitted model is sent: the attack-space array turned into the input it was fitted on.

Attacks work in a numeric *attack space* (categorical features hold level codes, see
:mod:`mlsiege.schema`). A model fitted on a pandas DataFrame (a scikit-learn ``Pipeline`` with a
``ColumnTransformer`` and a ``OneHotEncoder`` on text columns, a LightGBM model on ``category``
columns) must instead receive named columns holding the real values, with the dtypes it was
fitted on. :class:`ModelInputs` decides once, at load time, which of three inputs a model gets:

* ``array``: the float array (a model fitted on arrays, or a numeric schema whose columns are
  already in the fitted order: the serving hot path, see below);
* ``frame``: a DataFrame decoded through the schema (levels for categoricals, integers for
  integer features), its columns in the model's ``feature_names_in_`` order, and ``category``
  dtypes where the model declares them (LightGBM's ``pandas_categorical``);
* ``labelled``: no schema, but the model knows its column names: the array in a labelled frame.

:class:`SmallBatchThreads` keeps single-row predictions from paying a thread pool's start-up
on every call: one diabetes row through LightGBM took 2.0 ms against the model's own 12.0 ms, and
through a OneHotEncoder + HistGradientBoosting pipeline 7.7 ms against 20.1 ms
(``benchmarks/single_row_predict.py --quick``, loaded 2-core machine).
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.errors import ConfigError, DataValidationError

__all__ = ["ModelInputs", "SmallBatchThreads", "final_step"]

#: Batches up to this many rows are predicted on one thread.
SMALL_BATCH = 64

_NAME_WARNING = "X does not have valid feature names"


def final_step(estimator: Any) -> Any:
    """The last estimator of a (possibly nested) scikit-learn Pipeline, else ``estimator``."""
    while hasattr(estimator, "steps") and estimator.steps:
        estimator = estimator.steps[-1][1]
    return estimator


def _lightgbm_categories(estimator: Any) -> dict[str, list[Any]]:
    """``{column: categories}`` of the ``category`` columns a LightGBM model was fitted on.

    LightGBM keeps the categories (``booster_.pandas_categorical``, in column order) and the
    indices of the categorical columns (``[categorical_feature: ...]`` in the model text);
    a prediction frame whose dtypes differ is refused ("categorical_feature do not match").
    """
    booster = getattr(estimator, "booster_", None)
    cats = getattr(booster, "pandas_categorical", None)
    if not cats:
        return {}
    names = list(booster.feature_name())
    text = booster.model_to_string(num_iteration=1)
    found = re.search(r"\[categorical_feature: ([0-9,]*)\]", text)
    idx = [int(i) for i in found.group(1).split(",") if i] if found else []
    if len(idx) != len(cats):
        return {}
    return {names[i]: list(c) for i, c in zip(idx, cats, strict=True)}


class ModelInputs:
    """Turns attack-space rows into what a model was fitted on (see the module docstring).

    Parameters
    ----------
    schema
        The feature space (``None``: rows are sent as they come, labelled when the model
        knows its column names).
    feature_names
        The model's ``feature_names_in_`` (``None``: fitted on arrays).
    decode
        ``None``: decode when the model was fitted on a DataFrame; ``True``: always decode
        through the schema (a model that wants named columns but does not say so); ``False``:
        never decode levels (codes are sent, labelled when the model knows its names).
    categories
        ``{column: categories}`` for the columns the model was fitted on as ``category`` dtype.

    Examples
    --------
    >>> from mlsiege.schema import Feature, Schema
    >>> s = Schema([Feature("n", "integer", 0, 9), Feature("c", "categorical", levels=["a", "b"])])
    >>> ModelInputs(s, ["c", "n"])(np.array([[3.0, 1.0]])).to_dict("records")
    [{'c': 'b', 'n': 3}]
    """

    def __init__(
        self,
        schema: Any = None,
        feature_names: list[str] | None = None,
        *,
        decode: bool | None = None,
        categories: dict[str, list[Any]] | None = None,
    ) -> None:
        self.schema = schema
        self.feature_names = None if feature_names is None else [str(n) for n in feature_names]
        self.categories = dict(categories or {})
        if decode and schema is None:
            raise ConfigError("decoding rows into named columns needs a schema")
        if schema is not None and self.feature_names is not None:
            missing = [n for n in self.feature_names if n not in schema.names]
            if missing:
                raise ConfigError(
                    f"the model was fitted on columns the schema does not have: {missing[:8]}"
                    + (f" (and {len(missing) - 8} more)" if len(missing) > 8 else "")
                )
        self.mode = self._choose(decode)
        if self.mode == "array" and self.feature_names is not None:
            # the columns are already in the fitted order and numeric: labelling them in a
            # DataFrame costs scikit-learn ~1.4 ms per call (measured, 8 features), most of a
            # single-row prediction on the gateway's hot path. The array is what the model
            # computes on; silence only the warning about exactly this.
            warnings.filterwarnings("ignore", message=_NAME_WARNING, category=UserWarning)

    def _choose(self, decode: bool | None) -> str:
        schema, names = self.schema, self.feature_names
        if schema is None:
            return "labelled" if names is not None else "array"
        if decode is False:
            return "labelled" if names is not None else "array"
        if names is None:
            return "frame" if decode else "array"
        numeric = all(schema[n].type != "categorical" for n in names) and not self.categories
        if numeric and list(schema.names) == names and not decode:
            return "array"
        return "frame"

    def __call__(self, X: np.ndarray) -> Any:
        X = np.atleast_2d(np.asarray(X, dtype=float))
        if self.mode == "array":
            return X
        if self.mode == "labelled":
            if X.shape[1] != len(self.feature_names):
                raise DataValidationError(f"the model expects {len(self.feature_names)} columns, got {X.shape[1]}")
            return pd.DataFrame(X, columns=self.feature_names)
        frame = self.schema.decode(X)
        if self.feature_names is not None:
            frame = frame[self.feature_names]
        for name, cats in self.categories.items():
            if name in frame.columns:
                frame[name] = pd.Categorical(_as_categories(frame[name].to_numpy(), cats), categories=cats)
        return frame


def _as_categories(values: np.ndarray, cats: list[Any]) -> np.ndarray:
    """Schema levels read from YAML/CSV may be text where the model saw numbers: match by text."""
    by_text = {str(c): c for c in cats}
    return np.asarray([by_text.get(str(v), v) for v in values], dtype=object)


class SmallBatchThreads:
    """Predict small batches on one thread.

    LightGBM sets its thread count itself on every call (``num_threads``, from ``n_jobs``), so
    it is told ``num_threads=1``; every other OpenMP user (scikit-learn's histogram boosting,
    XGBoost's default) is held to one OpenMP thread for the call with threadpoolctl. Large
    batches keep the model's own threads.
    """

    def __init__(self, estimator: Any, small_batch: int = SMALL_BATCH) -> None:
        self.small_batch = int(small_batch)
        last = final_step(estimator)
        self.kwargs: dict[str, Any] = {}
        if type(last).__module__.startswith("lightgbm."):
            self.kwargs = {"num_threads": 1}
        self._controller: Any = None

    def call(self, method: Any, X: Any) -> Any:
        if len(X) > self.small_batch:
            return method(X)
        if self._controller is None:
            from threadpoolctl import ThreadpoolController

            # built at the first prediction, when the model's own libraries are loaded
            self._controller = ThreadpoolController()
        with self._controller.limit(limits=1, user_api="openmp"):
            return method(X, **self.kwargs) if self.kwargs else method(X)
