"""The foundation CLI through typer's CliRunner: version, schema infer/check, target probe."""

from __future__ import annotations

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from mlsiege import __version__
from mlsiege.cli.main import app

runner = CliRunner()


@pytest.fixture
def csvs(tmp_path):
    rng = np.random.default_rng(0)
    n = 80
    df = pd.DataFrame({"age": rng.integers(18, 80, n), "income": rng.normal(5e4, 1e4, n).round(2),
                       "country": rng.choice(["fr", "de", "us"], n), "clicks": rng.integers(0, 50, n)})
    df.to_csv(tmp_path / "ok.csv", index=False)
    bad = df.copy()
    bad.loc[3, "age"] = -5
    bad.loc[7, "country"] = "zz"
    bad.to_csv(tmp_path / "bad.csv", index=False)
    return tmp_path


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.output


def test_schema_infer_then_check(csvs):
    out = csvs / "s.yaml"
    r = runner.invoke(app, ["schema", "infer", str(csvs / "ok.csv"), "-o", str(out)])
    assert r.exit_code == 0, r.output
    assert runner.invoke(app, ["schema", "check", str(csvs / "ok.csv"), "--schema", str(out)]).exit_code == 0
    r = runner.invoke(app, ["schema", "check", str(csvs / "bad.csv"), "--schema", str(out)])
    assert r.exit_code == 1
    assert "2 invalid" in r.output and "bounds:age" in r.output


def test_schema_check_bad_inputs_are_one_line(csvs):
    (csvs / "empty.csv").write_text("")
    r = runner.invoke(app, ["schema", "check", str(csvs / "empty.csv"), "--schema", str(csvs / "nope.yaml")])
    assert r.exit_code == 2 and "Traceback" not in r.output
    r = runner.invoke(app, ["schema", "infer", str(csvs / "missing.csv"), "-o", str(csvs / "x.yaml")])
    assert r.exit_code == 2 and "not found" in r.output


def test_target_probe_joblib(csvs):
    df = pd.read_csv(csvs / "ok.csv")
    X = df[["age", "income", "clicks"]]
    joblib.dump(LogisticRegression(max_iter=500).fit(X, (X["age"] > 40).astype(int)), csvs / "m.joblib")
    X.to_csv(csvs / "x.csv", index=False)
    r = runner.invoke(app, ["target", "probe", "--target", str(csvs / "m.joblib"), "--data", str(csvs / "x.csv"), "--rows", "3"])
    assert r.exit_code == 0, r.output
    assert "predict_proba" in r.output and "queries spent: 6 rows in 2 calls" in r.output
    assert "unpickles" in r.output


def test_target_probe_dead_endpoint(csvs):
    pytest.importorskip("httpx")
    r = runner.invoke(app, ["target", "probe", "--target", "http://127.0.0.1:9/predict", "--data", str(csvs / "ok.csv")])
    assert r.exit_code == 2
    assert "unavailable" in r.output and "Traceback" not in r.output
