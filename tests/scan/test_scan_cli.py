"""``mlsiege scan`` and ``mlsiege report`` as a new user runs them."""

from __future__ import annotations

import json

import joblib
import pytest
from scan_fakes import RECIPES, world
from typer.testing import CliRunner

import mlsiege.scenarios.scan_recipes as scan_recipes
from mlsiege.cli.main import app

runner = CliRunner()


@pytest.fixture
def files(tmp_path, monkeypatch):
    monkeypatch.setattr(scan_recipes, "default_recipes", lambda: RECIPES)
    X, y, schema, model, frame = world()
    frame = frame.assign(label=y)
    frame.to_csv(tmp_path / "d.csv", index=False)
    joblib.dump(model, tmp_path / "m.joblib")
    schema.to_yaml(tmp_path / "s.yaml")
    return tmp_path


def _scan(files, *extra, data="d.csv", label="label", budget="300"):
    args = ["scan", "--target", str(files / "m.joblib"), "--data", str(files / data), "--label", label,
            "--schema", str(files / "s.yaml"), "--budget", budget, "--out", str(files / "r"), "--quiet", *extra]
    return runner.invoke(app, args)


def test_scan_writes_json_and_html_and_gates(files):
    res = _scan(files, "--fail-on", "high")
    doc = json.loads((files / "r" / "report.json").read_text())
    assert doc["kind"] == "scan" and doc["schema_version"]
    high = any(f["severity"] in ("high", "critical") for f in doc["findings"])
    assert res.exit_code == (1 if high else 0), res.output
    assert high  # the fake evasion always wins on a logistic regression
    for f in doc["findings"]:
        assert set(f) >= {"title", "severity", "rule", "evidence", "atlas_techniques", "atlas_mitigations"}
    assert "label" not in doc["data"]["features"]
    assert (files / "r" / "report.html").stat().st_size > 100_000


def test_report_rerenders_from_json(files):
    _scan(files)
    (files / "r" / "report.html").unlink()
    res = runner.invoke(app, ["report", str(files / "r"), "--quiet"])
    assert res.exit_code == 0, res.output
    assert "Evasion success rate vs queries" in (files / "r" / "report.html").read_text()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"data": "missing.csv"}, "data file not found"),
        ({"label": "nope"}, "label column 'nope'"),
        ({"budget": "0"}, "--budget must be a positive"),
    ],
)
def test_bad_input_exits_2_with_a_report(files, kwargs, message):
    res = _scan(files, **kwargs)
    assert res.exit_code == 2
    assert message in res.output and "Traceback" not in res.output
    doc = json.loads((files / "r" / "report.json").read_text())
    assert message in doc["error"]


def test_unreadable_csv(files):
    (files / "bad.csv").write_bytes(b"\xff\xfe\x00garbage\x00\n\x00")
    res = _scan(files, data="bad.csv")
    assert res.exit_code == 2 and "error:" in res.output


def test_target_that_raises_exits_2_keeping_finished_steps(files, tmp_path):
    joblib.dump(_Broken(), files / "m.joblib")
    res = _scan(files)
    assert res.exit_code == 2 and "the target failed" in res.output
    doc = json.loads((files / "r" / "report.json").read_text())
    assert doc["error"] and (files / "r" / "report.html").exists()


class _Broken:
    classes_ = [0, 1]

    def fit(self, X, y):
        return self

    def predict(self, X):
        raise ValueError("boom")

    def predict_proba(self, X):
        raise ValueError("boom")
