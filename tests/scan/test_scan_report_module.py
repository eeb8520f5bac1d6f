"""The shared report module: findings, versioned JSON, self-contained HTML, terminal summary."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from mlsiege.cli.summary import render_summary
from mlsiege.errors import ConfigError, DataValidationError, UnknownAtlasIdError
from mlsiege.report.findings import SEVERITIES, Finding, highest_severity, reaches
from mlsiege.report.html import HtmlReport
from mlsiege.report.json_report import SCHEMA_VERSION, read_json, write_json


def _finding(severity="high"):
    return Finding("Evasion works", severity, "success rate 0.9 >= 0.5 -> high", {"success_rate": 0.9},
                   ["AML.T0015"], ["AML.M0003", "AML.M0002"])


def test_finding_validates_ids_and_fills_controls():
    f = _finding()
    assert f.controls["AML.M0002"].startswith("mlsiege.targets.LabelOnly")
    assert f.to_dict()["atlas_techniques"] == ["AML.T0015"]
    assert Finding.from_dict(f.to_dict()) == f
    with pytest.raises(UnknownAtlasIdError):
        Finding("x", "low", "r", atlas_techniques=["AML.T9999"])
    with pytest.raises(ConfigError, match="severity"):
        Finding("x", "severe", "r")
    with pytest.raises(ConfigError, match="rule"):
        Finding("x", "low", "")


def test_severity_order():
    assert SEVERITIES == ("info", "low", "medium", "high", "critical")
    assert reaches("critical", "high") and not reaches("medium", "high")
    assert highest_severity([_finding("low"), _finding("critical")]) == "critical"
    assert highest_severity([]) is None


def test_json_header_and_round_trip(tmp_path):
    path = write_json(tmp_path / "r" / "report.json", {"findings": [_finding()], "x": float("nan")},
                      kind="registration-botnet")
    doc = read_json(tmp_path / "r")
    assert doc["schema_version"] == SCHEMA_VERSION and doc["kind"] == "registration-botnet"
    assert doc["generator"].startswith("mlsiege ") and doc["created"]
    assert doc["x"] is None and doc["findings"][0]["severity"] == "high"
    with pytest.raises(DataValidationError, match="expected 'scan'"):
        read_json(path, kind="scan")
    with pytest.raises(ConfigError):
        write_json(tmp_path / "x.json", {"kind": "oops"})
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(DataValidationError, match="not valid JSON"):
        read_json(tmp_path / "bad.json")


def test_html_is_self_contained_with_plotly_once(tmp_path):
    go = pytest.importorskip("plotly.graph_objects")
    rep = HtmlReport("Title <x>", subtitle="sub")
    rep.add_summary({"findings": 1, "rate": 0.123456})
    rep.add_table("Table", pd.DataFrame({"a": [1, 2]}))
    rep.add_figure("One", go.Figure(go.Scatter(x=[1, 2], y=[1, 2])))
    rep.add_figure("Two", {"data": [{"type": "bar", "x": [1], "y": [2]}]})
    rep.add_findings([_finding("low"), _finding("critical").to_dict()])
    rep.add_text("Rules", "|--- f0 <= 0.5", preformatted=True)
    html = rep.write(tmp_path / "r.html").read_text()
    assert html.count("plotly.js v") == 1  # inlined once
    assert "<script src=" not in html and "<link " not in html  # nothing fetched at load time
    assert "Title &lt;x&gt;" in html and "0.1235" in html
    assert html.index(">critical<") < html.index(">low<")  # most severe first
    assert 'id="mlsiege-fig-3"' in html


def test_terminal_summary_is_stable_at_fixed_width():
    text = render_summary("Scan", {"findings": 2}, [_finding("medium"), _finding("critical")], width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    assert "critical" in text and text.index("critical") < text.index("medium")
    assert text == render_summary("Scan", {"findings": 2}, [_finding("medium"), _finding("critical")], width=80)


def test_report_json_is_plain_json(tmp_path):
    path = write_json(tmp_path / "report.json", {"a": 1}, created="2026-01-01T00:00:00+00:00")
    assert json.loads(path.read_text())["created"] == "2026-01-01T00:00:00+00:00"


def test_unknown_kinds_get_a_generic_page_and_renderers_register():
    from mlsiege.report.render import register_renderer, render_document

    page = render_document({"kind": "my-thing", "summary": {"rows": 3}, "findings": [_finding().to_dict()],
                            "accounts": [{"id": 1, "flagged": True}]})
    html = page.to_html(include_plotlyjs=False)
    assert "accounts" in html and "Evasion works" in html and ">3<" in html
    register_renderer("my-thing", lambda doc: HtmlReport("custom page"))
    assert render_document({"kind": "my-thing"}).title == "custom page"
