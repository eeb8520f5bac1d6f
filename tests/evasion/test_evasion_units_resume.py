"""One named distance unit, rows written as they finish, Ctrl-C and --resume."""

from __future__ import annotations

import json

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from typer.testing import CliRunner

from mlsiege.attacks import evasion as evasion_pkg
from mlsiege.attacks.evasion import hopskipjump_chen2020
from mlsiege.attacks.evasion.units import distance_unit
from mlsiege.cli.main import app
from mlsiege.errors import ConfigError
from mlsiege.schema import Feature, Schema, infer_schema
from mlsiege.targets import from_estimator


def test_constant_features_never_get_a_cheap_unit():
    schema = Schema([Feature("live", "real", 0, 16), Feature("dead", "integer", 0, 16), Feature("half", "real", 0, 16)])
    rows = np.array([[1.0, 0, 4.0], [5.0, 0, 4.5], [9.0, 0, 5.0]])
    unit = distance_unit(None, schema, rows, "pool")
    assert unit.name == "std" and unit.constant == ("dead",)
    assert unit.scale[1] == pytest.approx(unit.scale[2])  # the smallest varying unit, not the range (16)
    assert unit.describe()["rows"] == 3 and "constant" in unit.describe()["text"]
    assert distance_unit("range", schema).scale.tolist() == [16.0, 16.0, 16.0]
    assert distance_unit("model", schema).name == "raw"
    with pytest.raises(ConfigError, match="--scale must be one of"):
        distance_unit("mad", schema, rows)
    with pytest.raises(ConfigError, match="at least two"):
        distance_unit("std", schema, rows[:1])


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


def _args(d, out, *extra):
    return ["attack", "evasion", "--target", str(d / "m.joblib"), "--data", str(d / "data.csv"),
            "--schema", str(d / "s.yaml"), "--budget", "40", "--out", str(out), "--label", "y",
            "--pool", str(d / "pool.csv"), "--quiet", *extra]


def test_summary_names_its_unit_and_scale_option(tmp_path):
    d = _files(tmp_path)
    res = CliRunner().invoke(app, _args(d, d / "a", "--scale", "range"))
    assert res.exit_code == 0, res.output
    summary = json.loads((d / "a" / "summary.json").read_text())
    assert summary["distance_unit"]["name"] == "range" and summary["metrics"]["distance_unit"]["name"] == "range"
    res = CliRunner().invoke(app, _args(d, d / "b", "--scale", "furlongs"))
    assert res.exit_code == 2 and "--scale must be one of" in res.output


def test_interrupt_keeps_finished_rows_and_resume_matches_a_whole_run(tmp_path, monkeypatch):
    d = _files(tmp_path)
    assert CliRunner().invoke(app, _args(d, d / "whole")).exit_code == 0
    calls = {"n": 0}

    def cut_after_two(*args, on_point, **kwargs):
        def counting(record):
            on_point(record)
            calls["n"] += 1
            if calls["n"] == 2:
                raise KeyboardInterrupt
        return hopskipjump_chen2020(*args, on_point=counting, **kwargs)

    monkeypatch.setattr(evasion_pkg, "hopskipjump_chen2020", cut_after_two)  # what KINDS["hsj"] looks up
    res = CliRunner().invoke(app, _args(d, d / "cut"))
    assert res.exit_code == 130 and "--resume" in res.output
    assert len(pd.read_csv(d / "cut" / "points.csv")) == 2
    assert json.loads((d / "cut" / "summary.json").read_text())["status"] == "interrupted"
    monkeypatch.setattr(evasion_pkg, "hopskipjump_chen2020", hopskipjump_chen2020)
    res = CliRunner().invoke(app, _args(d, d / "cut", "--budget", "41", "--resume"))
    assert res.exit_code == 2 and "budget" in res.output  # a changed option is refused
    assert CliRunner().invoke(app, _args(d, d / "cut", "--resume")).exit_code == 0
    whole, resumed = pd.read_csv(d / "whole" / "points.csv"), pd.read_csv(d / "cut" / "points.csv")
    cols = ["point", "success", "queries", "l2_std"]
    pd.testing.assert_frame_equal(whole[cols], resumed[cols])
    assert len(pd.read_csv(d / "cut" / "adversarial.csv")) == whole["success"].sum()
    assert json.loads((d / "cut" / "summary.json").read_text())["metrics"]["rows_done"] == 6


def test_runner_reports_rows_as_they_finish():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(80, 2))
    y = (X[:, 0] > 0).astype(int)
    schema = infer_schema(pd.DataFrame(X, columns=["a", "b"]))
    seen = []
    res = hopskipjump_chen2020(from_estimator(LogisticRegression().fit(X, y)), X[:3], schema=schema, pool_X=X[3:],
                               pool_y=y[3:], budget=30, seed=0, on_point=seen.append, point_ids=[7, 8, 9])
    assert [r["point"] for r in seen] == [7, 8, 9] and res.metrics["distance_unit"]["source"] == "pool"
    assert all(r["adversarial"].shape == (2,) for r in seen)
