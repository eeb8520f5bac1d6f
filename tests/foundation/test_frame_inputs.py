"""Models fitted on DataFrames receive named, decoded columns with the dtypes they were fitted on."""

from __future__ import annotations

import warnings

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.compose import ColumnTransformer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OneHotEncoder

from mlsiege.errors import ConfigError
from mlsiege.schema import Feature, Schema
from mlsiege.targets import Budgeted, from_estimator, load_target
from mlsiege.targets.inputs import ModelInputs, SmallBatchThreads


@pytest.fixture
def table():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({
        "city": rng.choice(["lyon", "oslo", "rome"], n),
        "sent": rng.integers(1, 30, n),
        "share": rng.uniform(0, 1, n).round(3),
    })
    y = ((frame.city == "oslo") | (frame.sent > 20)).astype(int).to_numpy()
    schema = Schema([
        Feature("sent", "integer", 1, 29),  # a different column order than the model's on purpose
        Feature("share", "real", 0, 1),
        Feature("city", "categorical", levels=["lyon", "oslo", "rome"]),
    ])
    return frame, y, schema


def _pipeline(frame, y):
    pre = ColumnTransformer([("cat", OneHotEncoder(handle_unknown="ignore"), ["city"])], remainder="passthrough")
    return Pipeline([("pre", pre), ("clf", HistGradientBoostingClassifier(max_iter=30, random_state=0))]).fit(frame, y)


def test_pipeline_on_dataframe_gets_decoded_named_columns_without_warnings(table, tmp_path):
    frame, y, schema = table
    model = _pipeline(frame, y)
    X = schema.encode(frame)
    joblib.dump(model, tmp_path / "m.joblib")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the unpickling warning only
        loaded = load_target(str(tmp_path / "m.joblib"), schema=schema)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any scikit-learn warning fails the test
        for target in (from_estimator(model, schema=schema), loaded):
            assert np.array_equal(target.predict(X), model.predict(frame))
            assert np.allclose(Budgeted(target).predict_proba(X[:1]), model.predict_proba(frame.iloc[:1]))


def test_inputs_choose_array_frame_or_labels(table):
    _, _, schema = table
    numeric = Schema([Feature("a", "real", 0, 1), Feature("b", "integer", 0, 5)])
    assert ModelInputs(numeric, ["a", "b"]).mode == "array"  # already in fitted order: hot path
    assert ModelInputs(numeric, ["b", "a"]).mode == "frame"
    assert ModelInputs(numeric, None).mode == "array"
    assert ModelInputs(None, ["a", "b"]).mode == "labelled"
    assert ModelInputs(schema, None, decode=True).mode == "frame"
    out = ModelInputs(schema, ["city", "sent", "share"])(np.array([[4.0, 0.5, 2.0]]))
    assert list(out.columns) == ["city", "sent", "share"] and out.iloc[0].tolist() == ["rome", 4, 0.5]
    assert out["sent"].dtype == np.int64 and not pd.api.types.is_numeric_dtype(out["city"])
    with pytest.raises(ConfigError, match="columns the schema does not have: \\['zip'\\]"):
        ModelInputs(schema, ["city", "zip"])
    with pytest.raises(ConfigError, match="needs a schema"):
        ModelInputs(None, None, decode=True)


def test_model_fitted_on_arrays_still_gets_codes(table):
    frame, y, schema = table
    X = schema.encode(frame)
    model = LogisticRegression(max_iter=500).fit(X, y)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(from_estimator(model, schema=schema).predict(X), model.predict(X))


def test_lightgbm_on_category_columns_gets_categories_and_one_thread(table):
    lgb = pytest.importorskip("lightgbm")
    frame, y, schema = table
    cat = frame.assign(city=pd.Categorical(frame.city))
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1, random_state=0).fit(cat, y)
    target = from_estimator(model, schema=schema)
    X = schema.encode(frame)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert np.array_equal(target.predict(X), model.predict(cat))
        assert np.array_equal(target.predict(X[:1]), model.predict(cat.iloc[:1]))
    assert SmallBatchThreads(model).kwargs == {"num_threads": 1}
    pipe = Pipeline([("m", model)])
    assert SmallBatchThreads(pipe).kwargs == {"num_threads": 1}
    assert SmallBatchThreads(LogisticRegression()).kwargs == {}


def test_small_batches_run_on_one_thread():
    seen = []

    class Spy:
        def predict(self, X, **kwargs):
            from threadpoolctl import threadpool_info

            seen.append([i["num_threads"] for i in threadpool_info() if i["user_api"] == "openmp"])
            return np.zeros(len(X))

    threads = SmallBatchThreads(Spy(), small_batch=4)
    threads.call(Spy().predict, np.zeros((2, 1)))
    assert all(n == 1 for n in seen[-1])
    threads.call(Spy().predict, np.zeros((10, 1)))  # large batches keep the model's threads
    assert len(seen) == 2


def test_cli_commands_send_frames_to_a_dataframe_pipeline(table, tmp_path):
    from typer.testing import CliRunner

    from mlsiege.cli.main import app

    frame, y, schema = table
    joblib.dump(_pipeline(frame, y), tmp_path / "m.joblib")
    frame.to_csv(tmp_path / "rows.csv", index=False)
    frame.assign(y=y).head(3).to_csv(tmp_path / "attack.csv", index=False)
    schema.to_yaml(tmp_path / "s.yaml")
    common = ["--target", str(tmp_path / "m.joblib"), "--schema", str(tmp_path / "s.yaml")]
    runs = {
        "probe": ["target", "probe", *common, "--data", str(tmp_path / "rows.csv"), "--rows", "2"],
        "evasion": ["attack", "evasion", *common, "--data", str(tmp_path / "attack.csv"), "--label", "y",
                    "--budget", "20", "--kind", "probe", "--out", str(tmp_path / "ev")],
    }
    for name, args in runs.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            result = CliRunner().invoke(app, args)
        assert result.exit_code == 0, (name, result.output)
        shown = result.output + "".join(str(w.message) for w in caught)
        assert "feature names" not in shown, name
