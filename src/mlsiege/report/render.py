"""Turn a ``report.json`` document back into ``report.html`` (used by ``mlsiege report DIR``).

Every page is built from the JSON alone, so re-rendering a report never needs the model, the
data or a query. ``scan``, ``campaign`` and ``lifecycle-audit`` documents get their own layouts
(named in :func:`_builtin_renderers`, imported by name, never found by string); any other kind
(the scenarios') gets a generic page: its ``summary``, its ``findings`` and a table per list of
records. A user's own kind can get a richer page with :func:`register_renderer`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mlsiege.extras import require
from mlsiege.report.findings import highest_severity
from mlsiege.report.html import HtmlReport
from mlsiege.report.json_report import read_json

__all__ = ["register_renderer", "render_document", "render_dir", "scan_summary"]

_RENDERERS: dict[str, Callable[[Mapping[str, Any]], HtmlReport]] = {}


def register_renderer(kind: str, renderer: Callable[[Mapping[str, Any]], HtmlReport]) -> None:
    """Use ``renderer(document) -> HtmlReport`` for reports of ``kind``."""
    _RENDERERS[kind] = renderer


def render_document(document: Mapping[str, Any]) -> HtmlReport:
    """The HTML report of a ``report.json`` document, by its ``kind``."""
    kind = str(document.get("kind", ""))
    renderer = _RENDERERS.get(kind) or _builtin_renderers().get(kind)
    return renderer(document) if renderer is not None else _generic_page(document)


def _builtin_renderers() -> dict[str, Callable[[Mapping[str, Any]], HtmlReport]]:
    """The kinds mlsiege renders with their own page (imported here, when a report is rendered)."""
    from mlsiege.report.campaign import campaign_page
    from mlsiege.report.lifecycle import lifecycle_page

    return {"scan": _scan_page, "campaign": campaign_page, "lifecycle-audit": lifecycle_page}


def render_dir(directory: str | Path) -> Path:
    """Re-render ``DIR/report.html`` from ``DIR/report.json``; returns the HTML path."""
    directory = Path(directory)
    document = read_json(directory / "report.json")
    return render_document(document).write(directory / "report.html")


def scan_summary(document: Mapping[str, Any]) -> dict[str, Any]:
    """Key figures of a scan (also shown by the terminal summary)."""
    steps = {s["name"]: s for s in document.get("steps", [])}
    findings = document.get("findings", [])
    out: dict[str, Any] = {
        "target": f"{document.get('target', {}).get('spec', '?')} "
                  f"({document.get('target', {}).get('kind', '?')}, {document.get('target', {}).get('outputs', '?')})",
        "queries used": f"{document.get('budget', {}).get('used', 0)} of {document.get('budget', {}).get('total', 0)}",
        "findings": len(findings),
        "highest severity": highest_severity(findings) or "none",
    }
    for name, label in (("evasion_score", "evasion success (scores)"),
                        ("evasion_label", "evasion success (labels only)")):
        rate = steps.get(name, {}).get("metrics", {}).get("success_rate")
        if rate is not None:
            out[label] = f"{rate:.0%}"
    fidelity = steps.get("extraction", {}).get("metrics", {}).get("fidelity")
    if fidelity is not None:
        out["extraction fidelity"] = f"{fidelity:.0%}"
    unit = document.get("distance_unit")
    if unit:
        out["distance unit"] = f"{unit.get('name')}: {unit.get('text')}"
    if "seconds" in document:
        out["seconds"] = document["seconds"]
    return out


def _scan_page(doc: Mapping[str, Any]) -> HtmlReport:
    go = require("plotly.graph_objects", "report", package="plotly")
    target, data = doc.get("target", {}), doc.get("data", {})
    rep = HtmlReport(
        f"mlsiege scan: {target.get('spec', 'target')}",
        subtitle=f"data {data.get('path', '?')} ({data.get('rows', '?')} rows, label {data.get('label', '?')}), "
                 f"budget {doc.get('budget', {}).get('total', '?')} queries, seed {doc.get('config', {}).get('seed', '?')}",
    )
    rep.add_summary(scan_summary(doc))
    if doc.get("error"):
        rep.add_text("The scan stopped early", doc["error"])
    rep.add_findings(doc.get("findings", []))
    steps = doc.get("steps", [])
    evasion = [s for s in steps if s["role"].startswith("evasion") and s.get("curve", {}).get("queries")]
    if evasion:
        fig = go.Figure()
        for s in evasion:
            fig.add_trace(go.Scatter(x=s["curve"]["queries"], y=s["curve"]["success_rate"], mode="lines+markers",
                                     line_shape="hv", name=f"{s['metrics'].get('api')} ({s['recipe']})"))
        fig.update_layout(xaxis_title="queries per row", yaxis_title="success rate", yaxis_range=[0, 1.05],
                          height=380, margin={"t": 20})
        rep.add_figure("Evasion success rate vs queries", fig)
        sizes = [s for s in evasion if s["curve"].get("perturbation_l2")]
        if sizes:
            fig = go.Figure()
            for s in sizes:
                fig.add_trace(go.Box(y=s["curve"]["perturbation_l2"], name=s["metrics"].get("api"), boxpoints="all"))
            unit = (doc.get("distance_unit") or {}).get("name", "range")  # reports before the unit was named used ranges
            fig.update_layout(yaxis_title=f"L2 distance (unit: {unit})", height=360, margin={"t": 20})
            rep.add_figure("Perturbation sizes of successful evasions", fig)
    extraction = next((s for s in steps if s["role"] == "extraction"), None)
    if extraction and extraction.get("curve", {}).get("queries"):
        fig = go.Figure(go.Scatter(x=extraction["curve"]["queries"], y=extraction["curve"]["fidelity"],
                                   mode="lines+markers", name="fidelity"))
        fig.update_xaxes(type="log", title="queries")
        fig.update_layout(yaxis_title="agreement with the target", yaxis_range=[0, 1.05], height=360, margin={"t": 20})
        rep.add_figure("Extraction fidelity vs queries", fig)
    if extraction and extraction.get("rules"):
        rep.add_text("Rules recovered from the target's answers", extraction["rules"], preformatted=True)
    poisoning = next((s for s in steps if s["role"] == "poisoning" and s.get("curve", {}).get("fraction")), None)
    if poisoning:
        c = poisoning["curve"]
        fig = go.Figure(go.Scatter(x=[0.0, *c["fraction"]], y=[poisoning["metrics"]["clean"], *c["flip_accuracy"]],
                                   mode="lines+markers", name="random label flips"))
        for r in c.get("recipes", []):
            fig.add_trace(go.Scatter(x=[r["fraction"]], y=[r["accuracy"]], mode="markers",
                                     marker_size=12, name=r["recipe"]))
        fig.update_layout(xaxis_title="fraction of training records poisoned", yaxis_title="test accuracy",
                          height=360, margin={"t": 20})
        rep.add_figure("Poisoning sensitivity", fig)
    if doc.get("hardening"):
        rep.add_table("Output hardening: what each control would change", pd.DataFrame(doc["hardening"]))
    rows = [{"step": s["name"], "recipe": s.get("recipe"), "status": s.get("status"), "budget": s.get("budget"),
             "queries": s.get("queries"), "seconds": s.get("seconds"), "note": s.get("reason", "")} for s in steps]
    if rows:
        rep.add_table("Steps and the queries they spent", pd.DataFrame(rows))
    return rep


def _generic_page(doc: Mapping[str, Any]) -> HtmlReport:
    rep = HtmlReport(str(doc.get("title") or f"mlsiege {doc.get('kind', 'report')}"),
                     subtitle=str(doc.get("subtitle", "")))
    summary = doc.get("summary")
    if isinstance(summary, Mapping):
        rep.add_summary(summary)
    if doc.get("findings"):
        rep.add_findings(doc["findings"])
    for key, value in doc.items():
        if isinstance(value, list) and value and all(isinstance(v, Mapping) for v in value) and key != "findings":
            rep.add_table(key.replace("_", " "), pd.json_normalize(value, max_level=0))
    return rep
