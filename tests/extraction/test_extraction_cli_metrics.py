"""``mlsiege attack extract`` end to end, and the extraction metrics."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.metrics.extraction import (
    fidelity,
    max_weight_error,
    rule_coverage_precision,
    transfer_rate,
)
from mlsiege.schema import infer_schema


@pytest.fixture()
def files(tmp_path):
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({"burst": rng.integers(1, 50, 200), "age": rng.uniform(0, 100, 200), "disposable": rng.integers(0, 2, 200)})
    y = ((frame.burst > 20) | ((frame.disposable == 1) & (frame.age < 40))).astype(int)
    joblib.dump(DecisionTreeClassifier(max_depth=3, random_state=0).fit(frame.to_numpy(), y), tmp_path / "model.joblib")
    frame.to_csv(tmp_path / "pool.csv", index=False)
    infer_schema(frame).to_yaml(tmp_path / "schema.yaml")
    return tmp_path


def test_extract_writes_surrogate_curve_and_rules(files):
    out = files / "out"
    result = CliRunner().invoke(app, [
        "attack", "extract", "--target", str(files / "model.joblib"), "--schema", str(files / "schema.yaml"),
        "--budget", "20", "--out", str(out), "--data", str(files / "pool.csv"),
    ])
    assert result.exit_code == 0, result.output
    report = json.loads((out / "fidelity.json").read_text())
    assert report["queries"] == 20 and report["curve"][-1]["queries"] == 20
    assert 0.0 <= report["fidelity"] <= 1.0
    assert "burst" in (out / "rules.txt").read_text()
    assert hasattr(joblib.load(out / "surrogate.joblib"), "predict")
    assert json.loads((out / "summary.json").read_text())["queries"] == 20


def test_extract_bad_input_is_one_line(files):
    result = CliRunner().invoke(app, [
        "attack", "extract", "--target", str(files / "model.joblib"), "--schema", str(files / "missing.yaml"),
        "--budget", "10", "--out", str(files / "o"),
    ])
    assert result.exit_code == 2 and "schema file not found" in result.output
    bad = CliRunner().invoke(app, [
        "attack", "extract", "--target", str(files / "model.joblib"), "--schema", str(files / "schema.yaml"),
        "--budget", "10", "--out", str(files / "o"), "--kind", "magic",
    ])
    assert bad.exit_code == 2 and "--kind" in bad.output


def test_metrics():
    class Const:
        def predict(self, X):
            return np.ones(len(X), dtype=int)

    assert fidelity(Const(), np.zeros((4, 1)), np.array([1, 1, 0, 1])) == 0.75
    assert rule_coverage_precision([True, True, False, False], [True, False, True, False]) == (0.5, 0.5)
    assert np.isnan(rule_coverage_precision([False, False], [True, False])[1])
    assert transfer_rate([True, True, False], [True, False, True]) == 0.5
    assert max_weight_error([1.0, 2.0], [1.0, 2.5]) == 0.5
    assert max_weight_error([1.0], [1.0, 2.0]) == float("inf")


def _extract(files, *extra):
    return CliRunner().invoke(app, [
        "attack", "extract", "--target", str(files / "model.joblib"), "--schema", str(files / "schema.yaml"),
        "--budget", "20", "--out", str(files / "out"), *extra,
    ])


def test_fidelity_on_data_rows_has_rows_count_and_interval(files):
    result = _extract(files, "--data", str(files / "pool.csv"))
    assert result.exit_code == 0, result.output
    s = json.loads((files / "out" / "summary.json").read_text())
    assert s["fidelity_rows"] == "data" and s["fidelity_n"] == 60  # 30% of the 200 rows, never trained on
    low, high = s["fidelity_ci"]
    assert low <= s["fidelity"] <= high and 0 <= low < high <= 1
    assert "95% CI" in result.output and "60 held-out rows" in result.output


def test_box_fidelity_is_named_and_warned(files):
    result = _extract(files)
    assert result.exit_code == 0, result.output
    s = json.loads((files / "out" / "summary.json").read_text())
    assert s["fidelity_rows"] == "box" and "not on real rows" in s["fidelity_warning"]
    assert "warning:" in result.output and "not real rows" in result.output


def test_extract_on_a_dataframe_pipeline(tmp_path):
    from sklearn.compose import ColumnTransformer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    rng = np.random.default_rng(1)
    frame = pd.DataFrame({"plan": rng.choice(["free", "pro", "team"], 300), "seats": rng.integers(1, 40, 300)})
    y = ((frame.plan == "free") & (frame.seats > 10)).astype(int)
    pre = ColumnTransformer([("c", OneHotEncoder(), ["plan"])], remainder="passthrough")
    joblib.dump(Pipeline([("p", pre), ("m", DecisionTreeClassifier(random_state=0))]).fit(frame, y), tmp_path / "model.joblib")
    frame.to_csv(tmp_path / "pool.csv", index=False)
    infer_schema(frame).to_yaml(tmp_path / "schema.yaml")
    result = _extract(tmp_path, "--data", str(tmp_path / "pool.csv"))
    assert result.exit_code == 0, result.output
    assert "does not have valid feature names" not in result.output
    s = json.loads((tmp_path / "out" / "summary.json").read_text())
    assert s["fidelity_rows"] == "data" and len(s["fidelity_ci"]) == 2


def test_wilson_interval_and_report():
    from mlsiege.errors import ConfigError
    from mlsiege.metrics.extraction import fidelity_report, wilson_interval

    low, high = wilson_interval(10, 10)
    assert high == pytest.approx(1.0) and 0.69 < low < 0.73  # all agree on 10 rows: still only >= 0.72
    assert all(np.isnan(wilson_interval(0, 0)))
    narrow = wilson_interval(950, 1000)
    assert narrow[1] - narrow[0] < wilson_interval(19, 20)[1] - wilson_interval(19, 20)[0]

    class Const:
        def predict(self, X):
            return np.zeros(len(X), dtype=int)

    r = fidelity_report(Const(), np.zeros((5, 1)), np.array([0, 0, 0, 1, 1]), "box")
    assert r["fidelity"] == 0.6 and r["fidelity_constant"] == 0.6 and r["fidelity_rows"] == "box"
    with pytest.raises(ConfigError):
        fidelity_report(Const(), np.zeros((1, 1)), np.zeros(1), "somewhere")
