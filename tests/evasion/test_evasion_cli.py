"""``mlsiege attack evasion`` end to end on a tiny joblib model, and evasion metrics."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.metrics.evasion import evasion_summary, perturbation_norms, success_at_eps
from mlsiege.schema import infer_schema


def _files(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.normal(size=(120, 3))
    y = (X[:, 0] + X[:, 1] > 0).astype(int)
    joblib.dump(LogisticRegression().fit(X, y), tmp_path / "m.joblib")
    frame = pd.DataFrame(X, columns=["a", "b", "c"])
    infer_schema(frame).to_yaml(tmp_path / "s.yaml")
    frame["y"] = y
    frame.iloc[:6].to_csv(tmp_path / "data.csv", index=False)
    frame.iloc[6:].to_csv(tmp_path / "pool.csv", index=False)
    return tmp_path


def test_cli_writes_points_and_summary(tmp_path):
    d = _files(tmp_path)
    out = d / "out"
    res = CliRunner().invoke(app, [
        "attack", "evasion", "--target", str(d / "m.joblib"), "--data", str(d / "data.csv"),
        "--schema", str(d / "s.yaml"), "--budget", "60", "--out", str(out), "--label", "y",
        "--pool", str(d / "pool.csv"),
    ])
    assert res.exit_code == 0, res.output
    points = pd.read_csv(out / "points.csv")
    assert len(points) == 6 and points["success"].all() and (points["queries"] <= 60).all()
    summary = json.loads((out / "summary.json").read_text())
    assert summary["attack"] == "hopskipjump_chen2020" and summary["metrics"]["success_rate"] == 1.0
    assert len(pd.read_csv(out / "adversarial.csv")) == 6


def test_cli_bad_input_is_one_line(tmp_path):
    d = _files(tmp_path)
    res = CliRunner().invoke(app, [
        "attack", "evasion", "--target", str(d / "m.joblib"), "--data", str(d / "data.csv"),
        "--schema", str(d / "s.yaml"), "--out", str(d / "o"), "--label", "nope",
    ])
    assert res.exit_code == 2 and "nope" in res.output and "Traceback" not in res.output


def test_metrics_ignore_failures_and_count_eps():
    X = np.zeros((3, 2))
    adv = np.array([[3.0, 4.0], [np.nan, np.nan], [0.0, 0.5]])
    n = perturbation_norms(adv, X, np.array([1.0, 2.0]))
    assert n["l2"][0] == 5.0 and np.isnan(n["l2"][1]) and n["l0"][2] == 1 and n["l2_std"][2] == 0.25
    ok = np.array([True, False, True])
    assert success_at_eps(ok, n["l2_std"], 1.0) == 1 / 3
    s = evasion_summary(ok, np.array([10, 50, 20]), n, np.array([True, False, True]))
    assert s["median_queries"] == 20 and s["success_rate"] == 2 / 3 and s["valid_rate"] == 1.0
