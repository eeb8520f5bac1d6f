"""One combined report for a campaign: every cell's headline figure and the worst findings."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from mlsiege.extras import require
from mlsiege.report.findings import Finding, highest_severity, severity_rank
from mlsiege.report.html import HtmlReport

__all__ = ["HEADLINE", "campaign_page", "campaign_payload", "headline"]

#: the figure each attack role is judged by, read from its step metrics
HEADLINE = {
    "evasion_score": "success_rate",
    "evasion_label": "success_rate",
    "extraction": "fidelity",
    "poisoning": "max_drop_flips",
}


def headline(record: Mapping[str, Any]) -> float | None:
    """The headline figure of one task record (``None`` when the task did not produce it)."""
    metrics = record.get("metrics") or {}
    value = metrics.get(HEADLINE.get(record.get("attack", ""), ""))
    if record.get("attack") == "poisoning" and metrics.get("recipes"):
        value = max([value or 0.0, *(r["drop"] for r in metrics["recipes"])])
    return None if value is None else float(value)


def _worst_findings(records: Sequence[Mapping[str, Any]]) -> list[Finding]:
    """Per (target, attack), the most severe finding over budgets and seeds (larger budget wins ties)."""
    best: dict[tuple[str, str], tuple[tuple[int, int], Finding]] = {}
    for r in records:
        for f in r.get("findings", []):
            found = Finding.from_dict(f)
            rank = (severity_rank(found.severity), int(r["budget"]))
            slot = (r["target"], r["attack"])
            if slot not in best or rank > best[slot][0]:
                tagged = Finding(
                    title=f"[{r['target']}] {found.title}", severity=found.severity, rule=found.rule,
                    evidence={"target": r["target"], "budget": r["budget"], "seed": r["seed"], **found.evidence},
                    atlas_techniques=found.atlas_techniques, atlas_mitigations=found.atlas_mitigations,
                    controls=found.controls, source=found.source,
                )
                best[slot] = (rank, tagged)
    return sorted((f for _, f in best.values()), key=lambda f: -severity_rank(f.severity))


def campaign_payload(grid: Any, records: Sequence[Mapping[str, Any]], resumed: int = 0) -> dict[str, Any]:
    """The ``report.json`` payload of a campaign (kind ``campaign``)."""
    findings = _worst_findings(records)
    failed = sum(r.get("status") == "error" for r in records)
    return {
        "name": grid.name,
        "grid": grid.to_dict(),
        "summary": {
            "tasks": len(grid.tasks()),
            "finished": len(records),
            "resumed from disk": resumed,
            "failed": failed,
            "queries used": int(sum(r.get("queries", 0) for r in records)),
            "highest severity": highest_severity(findings) or "none",
        },
        "results": [dict(r) for r in records],
        "findings": [f.to_dict() for f in findings],
    }


def campaign_page(doc: Mapping[str, Any]) -> HtmlReport:
    """The HTML page of a campaign ``report.json`` document."""
    go = require("plotly.graph_objects", "report", package="plotly")
    grid = doc.get("grid", {})
    rep = HtmlReport(f"mlsiege campaign: {doc.get('name', '')}",
                     subtitle=f"{len(grid.get('targets', {}))} targets x {len(grid.get('attacks', []))} attacks x "
                              f"{len(grid.get('budgets', []))} budgets x {len(grid.get('seeds', []))} seeds")
    rep.add_summary(doc.get("summary", {}))
    rep.add_findings(doc.get("findings", []))
    results = doc.get("results", [])
    rows = [{"target": r["target"], "attack": r["attack"], "budget": r["budget"], "seed": r["seed"],
             "status": r.get("status"), "recipe": r.get("recipe"), "figure": HEADLINE.get(r["attack"]),
             "value": headline(r), "queries": r.get("queries"), "seconds": r.get("seconds")} for r in results]
    frame = pd.DataFrame(rows)
    if not frame.empty and frame["value"].notna().any():
        fig = go.Figure()
        means = frame.dropna(subset=["value"]).groupby(["target", "attack", "budget"], as_index=False)["value"].mean()
        for (target, attack), part in means.groupby(["target", "attack"]):
            fig.add_trace(go.Scatter(x=part["budget"], y=part["value"], mode="lines+markers",
                                     name=f"{target} / {attack} ({HEADLINE.get(attack)})"))
        fig.update_layout(xaxis_title="query budget", yaxis_title="headline figure (mean over seeds)",
                          height=400, margin={"t": 20})
        rep.add_figure("Headline figure vs budget", fig)
    if rows:
        rep.add_table("Every task", frame)
    return rep
