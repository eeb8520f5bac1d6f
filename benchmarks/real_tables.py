"""Victims on scikit-learn's bundled tables (no download), shared by the extraction and evasion benchmarks.

Each case splits its table with ``train_test_split(..., random_state=0, stratify=label)``: half to
train the victim, a quarter as the attacker's pool, a quarter as held-out test rows (fidelity and
evasion points come from those). The schema is ``infer_schema`` of the whole table: the domain a
user describes, so no pool or test row falls outside it.

* ``wine``: 178 rows, 13 real features, 3 cultivars; ``GradientBoostingClassifier``.
* ``digits_binary``: 1,797 handwritten digits (64 pixel intensities 0-16), label "digit >= 5";
  ``StandardScaler`` + ``SVC`` (RBF).
* ``diabetes_lgbm``: 442 patients, 9 numeric features and ``sex`` as a text category, label
  "progression above the median"; LightGBM fitted on the DataFrame with a ``category`` column
  (the adapter sends decoded, typed frames). Skipped when lightgbm is not installed.
* ``diabetes_pipeline``: the same table through a ``ColumnTransformer`` + ``OneHotEncoder`` on
  ``sex`` + ``HistGradientBoostingClassifier`` scikit-learn Pipeline fitted on the DataFrame.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes, load_digits, load_wine
from sklearn.ensemble import GradientBoostingClassifier, HistGradientBoostingClassifier
from sklearn.model_selection import train_test_split
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler
from sklearn.svm import SVC

from mlsiege.schema import Schema, infer_schema
from mlsiege.targets import from_estimator


@dataclass(frozen=True)
class Case:
    """One victim: its model, its adapter, the schema and the attack-space splits."""

    name: str
    model: Any
    target: Any  # from_estimator(model, schema=schema): takes attack-space rows
    schema: Schema
    X_train: np.ndarray
    X_pool: np.ndarray
    y_pool: np.ndarray  # true labels
    X_test: np.ndarray
    y_test: np.ndarray
    description: str


def _split(frame: pd.DataFrame, y: np.ndarray) -> tuple[pd.DataFrame, ...]:
    tr, rest, y_tr, y_rest = train_test_split(frame, y, train_size=0.5, stratify=y, random_state=0)
    pool, te, y_pool, y_te = train_test_split(rest, y_rest, train_size=0.5, stratify=y_rest, random_state=0)
    return tr, pool, te, y_tr, y_pool, y_te


def _case(name: str, frame: pd.DataFrame, y: np.ndarray, make_model, fit_frame=lambda f: f, description: str = "") -> Case:
    schema = infer_schema(frame, max_levels=100)
    tr, pool, te, y_tr, y_pool, y_te = _split(frame, y)
    model = make_model().fit(fit_frame(tr), y_tr)
    return Case(name, model, from_estimator(model, schema=schema), schema, schema.encode(tr), schema.encode(pool),
                np.asarray(y_pool), schema.encode(te), np.asarray(y_te), description)


def wine() -> Case:
    data = load_wine(as_frame=True)
    return _case("wine", data.data, data.target.to_numpy(), lambda: GradientBoostingClassifier(random_state=0),
                 description="wine, 3 classes, GradientBoostingClassifier")


def digits_binary() -> Case:
    data = load_digits(as_frame=True)
    frame = data.data.astype(int)
    y = (data.target.to_numpy() >= 5).astype(int)
    return _case("digits_binary", frame, y, lambda: make_pipeline(StandardScaler(), SVC(random_state=0)),
                 description="digits as 'digit >= 5', StandardScaler + SVC (RBF)")


def _diabetes() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.drop(columns="target")
    frame["sex"] = np.where(frame["sex"] == 1, "one", "two")  # the file codes sex as 1/2
    return frame, (data.target > data.target.median()).astype(int).to_numpy()


def diabetes_lgbm() -> Case | None:
    try:
        import lightgbm as lgb
    except ImportError:
        return None
    frame, y = _diabetes()
    return _case("diabetes_lgbm", frame, y, lambda: lgb.LGBMClassifier(n_estimators=100, verbose=-1, random_state=0),
                 fit_frame=lambda f: f.assign(sex=pd.Categorical(f["sex"])),
                 description="diabetes, progression > median, LightGBM on a DataFrame with a category column")


def diabetes_pipeline() -> Case:
    frame, y = _diabetes()
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["sex"])], remainder="passthrough")
    return _case("diabetes_pipeline", frame, y, lambda: Pipeline([("pre", pre), ("clf", HistGradientBoostingClassifier(random_state=0))]),
                 description="diabetes, OneHotEncoder + HistGradientBoosting Pipeline fitted on the DataFrame")


def cases(names: tuple[str, ...] | None = None) -> list[Case]:
    makers = {"wine": wine, "digits_binary": digits_binary, "diabetes_lgbm": diabetes_lgbm, "diabetes_pipeline": diabetes_pipeline}
    out = []
    for name, make in makers.items():
        if names is None or name in names:
            case = make()
            if case is not None:
                out.append(case)
    return out
