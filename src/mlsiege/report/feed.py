"""Figures and the HTML page of the feed-injection scenario and static reco attacks."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from mlsiege.extras import require

__all__ = ["exposure_figure", "utility_figure", "write_feed_html"]


def exposure_figure(payload: dict[str, Any]) -> Any:
    """Target exposure in the audience per round, clean vs attacked (plotly Figure)."""
    go = require("plotly.graph_objects", "report", package="plotly")
    rounds = pd.DataFrame(payload["rounds"])
    fig = go.Figure()
    fig.add_scatter(x=rounds["round"], y=rounds["exposure_clean"], mode="lines+markers", name="clean")
    fig.add_scatter(x=rounds["round"], y=rounds["exposure_attacked"], mode="lines+markers", name=f"attacked ({payload.get('attack')})")
    fig.add_scatter(x=rounds["round"], y=rounds["exposure_overall_attacked"], mode="lines", name="attacked, all real users", line={"dash": "dot"})
    fig.update_layout(xaxis_title="round", yaxis_title="target hit ratio in timelines", template="plotly_white")
    return fig


def utility_figure(payload: dict[str, Any]) -> Any:
    """Benign utility (NDCG of timelines on held-out engagements) per round, clean vs attacked."""
    go = require("plotly.graph_objects", "report", package="plotly")
    rounds = pd.DataFrame(payload["rounds"])
    fig = go.Figure()
    fig.add_scatter(x=rounds["round"], y=rounds["ndcg_clean"], mode="lines+markers", name="NDCG clean")
    fig.add_scatter(x=rounds["round"], y=rounds["ndcg_attacked"], mode="lines+markers", name="NDCG attacked")
    fig.update_layout(xaxis_title="round", yaxis_title="NDCG@K", template="plotly_white")
    return fig


def write_feed_html(payload: dict[str, Any], path: str | Path) -> Path:
    """The scenario's ``report.html``: summary cards, exposure and utility plots, per-round table."""
    from mlsiege.report.html import HtmlReport

    report = HtmlReport(
        "Feed injection: sybils vs an engagement-driven recommender",
        f"{payload['recommender']} recommender, {payload['users']} users, {payload['items']} items, "
        f"{payload['n_sybils']} sybils ({payload['attack']}), seed {payload['seed']}",
    )
    report.add_summary(payload["summary"])
    report.add_figure("Target exposure over rounds", exposure_figure(payload))
    report.add_figure("Benign utility over rounds", utility_figure(payload))
    report.add_table("Per round", pd.DataFrame(payload["rounds"]))
    return report.write(path)
