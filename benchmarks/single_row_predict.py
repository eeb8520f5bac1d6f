"""Single-row predictions through the adapter vs the model's own call (thread start-up per call).

Victims, fitted on scikit-learn's bundled diabetes table (``sex`` as a text/category column,
label = progression above the median): a LightGBM classifier on the DataFrame with a
``category`` column, and scikit-learn's HistGradientBoostingClassifier behind a
ColumnTransformer/OneHotEncoder pipeline. Both use OpenMP threads; each call of one row pays
their start-up. The anchor is the model's own ``predict_proba`` on the same one-row DataFrame
in the same run; ``mlsiege`` is :func:`mlsiege.targets.from_estimator` with the schema (decodes
the row, runs small batches on one thread). One JSON object per line: ``model``, ``how``,
``rows``, ``ms_per_call`` (median over repeats).

    python benchmarks/single_row_predict.py [--quick]
"""

from __future__ import annotations

import argparse
import json
import time
import warnings

import numpy as np
import pandas as pd
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_diabetes
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlsiege.schema import infer_schema
from mlsiege.targets import from_estimator


def diabetes_table() -> tuple[pd.DataFrame, np.ndarray]:
    data = load_diabetes(as_frame=True, scaled=False)
    frame = data.frame.drop(columns="target")
    frame["sex"] = np.where(frame["sex"] == 1, "one", "two")  # the file codes sex as 1/2
    return frame, (data.target > data.target.median()).astype(int).to_numpy()


def timed(fn, repeats: int) -> float:
    fn()
    out = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        out.append(time.perf_counter() - t0)
    return float(np.median(out) * 1000)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    args = parser.parse_args()
    repeats = 50 if args.quick else 300
    warnings.filterwarnings("ignore")
    frame, y = diabetes_table()
    schema = infer_schema(frame)
    X = schema.encode(frame)
    models = {}
    try:
        import lightgbm as lgb

        cat = frame.assign(sex=pd.Categorical(frame["sex"]))
        models["LGBMClassifier(category column)"] = (lgb.LGBMClassifier(n_estimators=100, verbose=-1, random_state=0).fit(cat, y), cat)
    except ImportError:
        print(json.dumps({"model": "LGBMClassifier", "skipped": "lightgbm not installed (pip install mlsiege[bench])"}))
    pre = ColumnTransformer([("cat", OneHotEncoder(), ["sex"])], remainder="passthrough")
    pipe = Pipeline([("pre", pre), ("clf", HistGradientBoostingClassifier(random_state=0))]).fit(frame, y)
    models["Pipeline(OneHotEncoder, HistGradientBoosting)"] = (pipe, frame)
    for name, (model, native) in models.items():
        target = from_estimator(model, schema=schema)
        assert np.allclose(target.predict_proba(X[:50]), model.predict_proba(native.iloc[:50]))
        for rows in (1, 1000):
            r = rows if rows <= len(X) else len(X)
            own = timed(lambda m=model, n=native, r=r: m.predict_proba(n.iloc[:r]), repeats if r == 1 else max(5, repeats // 20))
            ours = timed(lambda t=target, r=r: t.predict_proba(X[:r]), repeats if r == 1 else max(5, repeats // 20))
            print(json.dumps({"model": name, "how": "model.predict_proba(DataFrame) [anchor]", "rows": r, "ms_per_call": round(own, 3)}), flush=True)
            print(json.dumps({"model": name, "how": "mlsiege from_estimator(schema=...)", "rows": r, "ms_per_call": round(ours, 3)}), flush=True)


if __name__ == "__main__":
    main()
