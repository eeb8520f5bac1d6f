"""The lifecycle audit's report page (``kind: lifecycle-audit``)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from mlsiege.report.html import HtmlReport

__all__ = ["lifecycle_page"]


def lifecycle_page(doc: Mapping[str, Any]) -> HtmlReport:
    """Summary, findings, the attack-path table, the stage table and, when run, the dynamic audit."""
    rep = HtmlReport(f"Lifecycle audit: {doc.get('pipeline', '')}", "which stage stops which attack, and where none does")
    paths = doc.get("paths", [])
    rep.add_summary({
        "maturity": doc.get("maturity") or "custom",
        "findings": len(doc.get("findings", [])),
        "uncovered attack paths": ", ".join(doc.get("uncovered", [])) or "none",
        "dynamic audit": "run" if doc.get("dynamic") else "not run (no artefacts given)",
    })
    rep.add_findings(doc.get("findings", []))
    if paths:
        rep.add_table("Attack paths", pd.DataFrame([
            {"path": p["path"], "status": p["status"], "stopped at": ", ".join(":".join(x) for x in p["stopped_at"]),
             "detected at": ", ".join(":".join(x) for x in p["detected_at"]),
             "would stop it": ", ".join(":".join(x) for x in p["missing"]), "ATLAS": ", ".join(p["atlas_techniques"])}
            for p in paths
        ]))
    stages = doc.get("stages", [])
    if stages:
        rep.add_table("Stages", pd.DataFrame([
            {"stage": s["stage"], "ATLAS phase": s["atlas_phase"], "controls": ", ".join(s["controls"]),
             "mitigations": ", ".join(s["atlas_mitigations"])} for s in stages
        ]))
    dynamic = doc.get("dynamic") or {}
    for attack in dynamic.get("attacks", []):
        rep.add_table(f"Dynamic: {attack['attack']} (caught / through per stage)", pd.DataFrame(attack["stages"]))
    gen = doc.get("generalization")
    if gen:
        rep.add_table("Novel-class generalization: detection rate when a class was never seen in training",
                      pd.DataFrame(gen.get("classes", [])))
        if gen.get("figure_data"):
            _generalization_figure(rep, gen)
    return rep


def _generalization_figure(rep: HtmlReport, gen: Mapping[str, Any]) -> None:
    from mlsiege.extras import require

    go = require("plotly.graph_objects", extra="report", package="plotly")
    rows = gen["classes"]
    fig = go.Figure([
        go.Bar(name="seen in training", x=[r["class"] for r in rows], y=[r["detection_rate_known"] for r in rows]),
        go.Bar(name="held out (novel)", x=[r["class"] for r in rows], y=[r["detection_rate_held_out"] for r in rows]),
    ])
    fig.update_layout(barmode="group", yaxis_title="detection rate", height=360)
    rep.add_figure("Detection of each abuse class, seen vs never seen", fig)
