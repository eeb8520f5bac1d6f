"""Lifecycle audit: pipeline files, templates, the static audit, the CLI, novel-class generalization."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sklearn.tree import DecisionTreeClassifier
from typer.testing import CliRunner

from mlsiege.cli.main import app
from mlsiege.lifecycle.audit import static_audit
from mlsiege.lifecycle.generalization import novel_class_test
from mlsiege.lifecycle.pipeline import PipelineError, load_pipeline, parse_pipeline
from mlsiege.lifecycle.templates import MATURITY_PRESETS, render_template

runner = CliRunner()


@pytest.mark.parametrize("maturity", list(MATURITY_PRESETS))
def test_every_template_audits_unedited(maturity):
    audit = static_audit(parse_pipeline(render_template(maturity)))
    assert audit.verdicts and all(f.atlas_techniques or f.atlas_mitigations for f in audit.findings)


def test_maturity_orders_findings_and_open_paths():
    counts = {m: static_audit(parse_pipeline(render_template(m))) for m in ("low", "hardened-model", "medium", "high")}
    assert len(counts["low"].findings) > len(counts["medium"].findings) > len(counts["high"].findings)
    assert set(counts["high"].uncovered()) <= set(counts["medium"].uncovered()) <= set(counts["low"].uncovered())
    # hardening the model alone leaves every data and serving path open
    assert {"poison-source", "flood-skew", "probe-extract-evade"} <= set(counts["hardened-model"].uncovered())


def test_a_stopping_control_closes_its_path():
    base = "stages:\n  collect:\n    sources: [{name: form, writers: public}]\n  serve:\n    controls: [%s]\n"
    open_ = {v.path: v.status for v in static_audit(parse_pipeline(base % "")).verdicts}
    closed = {v.path: v.status for v in static_audit(parse_pipeline(base % "query_limits")).verdicts}
    assert open_["probe-extract-evade"] == "open" and closed["probe-extract-evade"] == "stopped"


def test_internal_only_sources_close_poisoning_entry():
    p = parse_pipeline("stages:\n  collect:\n    sources: [{name: crm, trusted: true, writers: internal}]\n")
    verdicts = {v.path: v for v in static_audit(p).verdicts}
    assert not verdicts["poison-source"].applies and not verdicts["flood-skew"].applies


@pytest.mark.parametrize(
    "text, where",
    [
        ("stages: [\n  - oops\n", "line 2"),
        ("stages:\n  collect:\n    controls: [bogus]\n", "line 3: key 'stages.collect.controls.0': unknown control"),
        ("stages:\n  serve:\n    controls: [poisoning_screen]\n", "does not belong at stage 'serve'"),
        ("stages:\n  sorve: {}\n", "line 2: key 'stages.sorve'"),
        ("stages:\n  collect:\n    sources:\n      - {name: x, writers: anyone}\n", "line 4: key 'stages.collect.sources.0.writers'"),
        ("name: x\n", "no stages"),
    ],
)
def test_invalid_pipeline_names_line_and_key(text, where):
    with pytest.raises(PipelineError, match=where.replace(".", r"\.").replace("'", "'")):
        parse_pipeline(text)


def test_cli_init_then_audit(tmp_path):
    low, high = tmp_path / "low.yaml", tmp_path / "high.yaml"
    for path, maturity in ((low, "low"), (high, "high")):
        r = runner.invoke(app, ["lifecycle", "init", "--maturity", maturity, "-o", str(path)])
        assert r.exit_code == 0, r.output
    r = runner.invoke(app, ["lifecycle", "audit", str(low), "--out", str(tmp_path / "a"), "--fail-on", "high"])
    assert r.exit_code == 1, r.output
    doc = json.loads((tmp_path / "a" / "report.json").read_text())
    assert doc["kind"] == "lifecycle-audit" and doc["findings"]
    assert all(str(i).startswith("AML.") for f in doc["findings"] for i in f["atlas_techniques"] + f["atlas_mitigations"])
    assert (tmp_path / "a" / "report.html").stat().st_size > 1000
    r = runner.invoke(app, ["lifecycle", "audit", str(high), "--out", str(tmp_path / "b"), "--fail-on", "high"])
    assert r.exit_code == 0, r.output
    assert load_pipeline(high).maturity == "high"


def test_cli_bad_pipeline_is_one_line(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("stages: [\n  - oops\n")
    r = runner.invoke(app, ["lifecycle", "audit", str(bad), "--out", str(tmp_path / "o")])
    assert r.exit_code == 2 and "line 2" in r.output and "Traceback" not in r.output


def test_novel_class_detection_collapses_for_unseen_classes():
    rng = np.random.default_rng(0)
    benign = rng.normal(0, 1, (600, 3))
    classes = {"burst": [6, 0, 0], "disposable": [0, 6, 0], "headless": [0, 0, 6]}
    X = np.vstack([benign] + [rng.normal(c, 0.5, (80, 3)) for c in classes.values()])
    y = np.r_[np.zeros(600), np.ones(240)].astype(int)
    cls = np.array(["benign"] * 600 + [k for k in classes for _ in range(80)])
    out = novel_class_test(X, y, DecisionTreeClassifier(max_depth=4, random_state=0), cls)
    rows = {r["class"]: r for r in out["classes"]}
    assert set(rows) == set(classes)
    for r in rows.values():
        assert r["detection_rate_when_known"] > 0.9  # seen in training: caught
        assert r["detection_rate_known"] > 0.9  # the other classes still caught
        assert r["detection_rate_held_out"] < 0.5  # never seen: mostly missed
    assert out["mean_gap"] > 0.4
