"""Figures, tables and the HTML page of the registration-botnet scenario (needs the ``report`` extra)."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from mlsiege.extras import require

__all__ = ["damage_figure", "funnel_figure", "success_figure", "summary_frame", "write_registration_html"]


def summary_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    """One row per profile with the headline figures."""
    rows = []
    for name, p in report["profiles"].items():
        rows.append({
            "profile": name,
            "phony attempted": p["phony_attempted"],
            "phony through": p["phony_through"],
            "attacker success": round(p["attacker_success_rate"], 3),
            "benign rejected": round(p["benign_rejected_rate"], 4),
            "probes used": p["probes_used"],
            "downstream AUC drop": round(p["downstream_metric_drop"], 4),
            "rounds to detection": p["rounds_to_detection"] if p["rounds_to_detection"] is not None else "never",
        })
    return pd.DataFrame(rows)


def success_figure(report: Mapping[str, Any]) -> Any:
    """Bar chart: attacker success and benign rejection per profile."""
    go = require("plotly.graph_objects", "report", package="plotly")
    names = list(report["profiles"])
    fig = go.Figure([
        go.Bar(name="attacker success (phony through / attempted)", x=names,
               y=[report["profiles"][n]["attacker_success_rate"] for n in names]),
        go.Bar(name="benign registrants rejected", x=names,
               y=[report["profiles"][n]["benign_rejected_rate"] for n in names]),
    ])
    fig.update_layout(barmode="group", yaxis={"title": "rate", "range": [0, 1]}, height=380)
    return fig


def funnel_figure(report: Mapping[str, Any]) -> Any:
    """Per profile, phony registrations still in play after each lifecycle stage."""
    go = require("plotly.graph_objects", "report", package="plotly")
    fig = go.Figure()
    for name, p in report["profiles"].items():
        left = p["phony_attempted"]
        xs, ys = ["submitted"], [left]
        for s in p["stages"]:
            left -= s["caught"]
            xs.append(s["stage"])
            ys.append(left)
        fig.add_trace(go.Scatter(x=xs, y=ys, mode="lines+markers", name=name))
    fig.update_layout(yaxis={"title": "phony registrations still through"}, height=380)
    return fig


def damage_figure(report: Mapping[str, Any]) -> Any:
    """Downstream no-show model: AUC drop caused by the exported phony attendees, event by event."""
    go = require("plotly.graph_objects", "report", package="plotly")
    fig = go.Figure()
    for name, p in report["profiles"].items():
        fig.add_trace(go.Scatter(x=[r["event"] for r in p["rounds"]], y=[r["downstream_metric_drop"] for r in p["rounds"]],
                                 mode="lines+markers", name=name))
    fig.update_layout(xaxis={"title": "event (round)", "dtick": 1},
                      yaxis={"title": "ROC AUC drop of the downstream no-show model"}, height=380)
    return fig


def _stage_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    rows = {name: {s["stage"]: s["caught"] for s in p["stages"]} for name, p in report["profiles"].items()}
    frame = pd.DataFrame(rows).T
    frame.insert(0, "attempted", [p["phony_attempted"] for p in report["profiles"].values()])
    frame["through"] = [p["phony_through"] for p in report["profiles"].values()]
    return frame.reset_index(names="profile")


def _atlas_frame(report: Mapping[str, Any]) -> pd.DataFrame:
    rows = []
    for name, p in report["profiles"].items():
        for step in p["atlas"]:
            rows.append({"profile": name, "step": step["step"], "techniques": ", ".join(step["techniques"]),
                         "mitigations in place": ", ".join(step["mitigations"]) or "none"})
    return pd.DataFrame(rows)


def write_registration_html(report: Mapping[str, Any], path: str | Path) -> Path:
    """The scenario's self-contained HTML page."""
    from mlsiege.report.html import HtmlReport

    cfg = report["config"]
    page = HtmlReport(
        "Registration botnet across lifecycle maturity profiles",
        f"{report['world']['registrations_per_event']} registrations per event, {cfg['events']} events, "
        f"botnet of {cfg['accounts']} accounts and {cfg['probes']} probes per event, seed {cfg['seed']}",
    )
    page.add_summary({f"{n}: attacker success": round(p["attacker_success_rate"], 3)
                      for n, p in report["profiles"].items()})
    page.add_table("Per profile", summary_frame(report))
    page.add_figure("Attacker success per profile", success_figure(report))
    page.add_figure("Per-stage funnel of phony registrations", funnel_figure(report))
    page.add_table("Which stage caught the phony registrations", _stage_frame(report))
    page.add_figure("Downstream damage over events", damage_figure(report))
    page.add_table("ATLAS techniques and the mitigations in place, per step", _atlas_frame(report))
    page.add_text("How to read this", (
        "Every phony registration is caught at exactly one lifecycle stage or gets through; "
        "attacker success is phony through / phony attempted. Benign rejected counts benign "
        "registrants removed at any stage. The downstream drop is the ROC AUC lost by a no-show "
        "model trained on the exported attendee list, compared with the same list without the "
        "phony attendees."))
    return page.write(path)
