"""The feed demo's HTML page: the spread, the cascade, attacker variants, mitigations, what to do.

Every figure says on which accounts it is measured and in which unit; tables keep to a few
short columns so they fit a laptop screen. Needs the ``report`` extra (plotly).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from mlsiege.extras import require

__all__ = [
    "cascade_figure",
    "cost_frame",
    "mitigation_frame",
    "spread_figure",
    "spread_frame",
    "summary_cards",
    "variant_frame",
    "write_feed_demo_html",
]


def _pct(x: float) -> str:
    return f"{x:.1%}"


def summary_cards(payload: Mapping[str, Any]) -> dict[str, str]:
    """Headline figures with their unit in the label."""
    s = payload["summary"]
    days = len(payload["rounds"])
    return {
        f"target exposure, clean (audience timelines, mean of {days} days)": _pct(s["exposure_clean"]),
        f"target exposure, attacked (audience timelines, mean of {days} days)": _pct(s["exposure_attacked"]),
        "amplification (target impressions in real timelines per sybil engagement)": f"{s['amplification']:.2f}",
        f"audience reached (share whose timeline showed a target, {days} days)": _pct(s["reach_attacked"]),
        "real users' engagements with the targets": str(s["real_target_engagements"]),
        "sybil accounts (share of users)": f"{payload['n_sybils']} ({payload['config']['sybil_fraction']:.0%})",
        "exposure cut by removing every sybil a week late (one retrain)": _pct(payload["after_the_fact"]["exposure_reduction"]),
    }


def spread_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """Per day: sybil engagement -> impressions (by path) -> real engagement, attacked run."""
    rows = []
    for r in payload["rounds"]:
        rows.append({
            "day": r["round"],
            "sybil likes on targets (total)": r["sybil_engagements_on_targets_attacked"],
            "impressions via a followed sybil": r["impressions_via_sybil_attacked"],
            "impressions via a followed real user": r["impressions_via_real_attacked"],
            "impressions via co-engagement": r["impressions_collaborative_attacked"],
            "new real likes on targets": r["real_target_engagements_new_attacked"],
            "audience exposure": _pct(r["exposure_attacked"]),
        })
    return pd.DataFrame(rows)


def spread_figure(payload: Mapping[str, Any]) -> Any:
    """Per day: target impressions in real timelines, sybil-driven vs organic (stacked), and exposure."""
    go = require("plotly.graph_objects", "report", package="plotly")
    sub = require("plotly.subplots", "report", package="plotly")
    rounds = payload["rounds"]
    days = [r["round"] for r in rounds]
    fig = sub.make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=days, y=[r["impressions_sybil_driven_attacked"] for r in rounds], name="sybil-driven impressions",
                         marker_color="#d9480f"))
    fig.add_trace(go.Bar(x=days, y=[r["impressions_organic_attacked"] for r in rounds], name="organic impressions (carried by real users)",
                         marker_color="#1c7ed6"))
    fig.add_trace(go.Scatter(x=days, y=[r["exposure_attacked"] for r in rounds], name="audience exposure, attacked",
                             mode="lines+markers", line={"color": "#212529"}), secondary_y=True)
    fig.add_trace(go.Scatter(x=days, y=[r["exposure_clean"] for r in rounds], name="audience exposure, clean",
                             mode="lines+markers", line={"color": "#868e96", "dash": "dot"}), secondary_y=True)
    fig.update_layout(barmode="stack", height=400, template="plotly_white", legend={"orientation": "h", "y": -0.2},
                      xaxis={"title": "day (one retrain -> serve -> engage round)", "dtick": 1})
    fig.update_yaxes(title_text="target impressions in real users' timelines", secondary_y=False)
    fig.update_yaxes(title_text="audience exposure (share of timelines)", tickformat=".0%", secondary_y=True, rangemode="tozero")
    return fig


def _layout(payload: Mapping[str, Any]) -> tuple[dict[int, tuple[float, float]], dict[int, str]]:
    """x = day an account first engaged with a target (sybils: 0), y = mean of its parents' y."""
    n_real = payload["sybil_ids_start"]
    cascade = payload["cascade"]
    parents: dict[int, list[int]] = {}
    for e in cascade["edges"]:
        parents.setdefault(e["user"], []).append(e["followed"])
    pos: dict[int, tuple[float, float]] = {}
    kind: dict[int, str] = {}
    sybils = sorted({p for ps in parents.values() for p in ps if p >= n_real} | set(range(n_real, n_real + payload["n_sybils"])))
    for j, s in enumerate(sybils):
        pos[s] = (0.0, (j + 0.5) / max(len(sybils), 1))
        kind[s] = "sybil"
    for e in sorted(cascade["engagers"], key=lambda e: e["round"]):
        u = e["user"]
        if u in pos:
            continue
        ps = [p for p in parents.get(u, []) if p in pos]
        jitter = ((u * 2654435761) % 1000) / 1000.0
        y = float(np.mean([pos[p][1] for p in ps])) + (jitter - 0.5) * 0.08 if ps else jitter
        pos[u] = (e["round"] + (jitter - 0.5) * 0.5, min(max(y, 0.0), 1.0))
        kind[u] = ("via a followed sybil" if any(p >= n_real for p in ps) else "via a followed real user") if ps else "via co-engagement"
    return pos, kind


def cascade_figure(payload: Mapping[str, Any]) -> Any:
    """The cascade through the follow graph: who engaged with a target, when, and through whom."""
    go = require("plotly.graph_objects", "report", package="plotly")
    pos, kind = _layout(payload)
    ex, ey = [], []
    for e in payload["cascade"]["edges"]:
        if e["user"] in pos and e["followed"] in pos:
            (x0, y0), (x1, y1) = pos[e["followed"]], pos[e["user"]]
            ex += [x0, x1, None]
            ey += [y0, y1, None]
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ex, y=ey, mode="lines", line={"width": 0.6, "color": "rgba(80,80,80,0.35)"},
                             hoverinfo="skip", name="follows an earlier engager"))
    colours = {"sybil": "#c92a2a", "via a followed sybil": "#f08c00", "via a followed real user": "#1c7ed6", "via co-engagement": "#2b8a3e"}
    for k, colour in colours.items():
        ids = [u for u, kk in kind.items() if kk == k]
        if not ids:
            continue
        label = "sybil account" if k == "sybil" else f"real user, reached {k}"
        fig.add_trace(go.Scatter(x=[pos[u][0] for u in ids], y=[pos[u][1] for u in ids], mode="markers", name=label,
                                 marker={"size": 9 if k == "sybil" else 6, "color": colour, "line": {"width": 0.5, "color": "#fff"}},
                                 text=[f"account {u}" for u in ids], hovertemplate="%{text}<extra>" + label + "</extra>"))
    fig.update_layout(height=480, template="plotly_white", legend={"orientation": "h", "y": -0.15},
                      xaxis={"title": "day the account first engaged with a target (sybils: day 0)", "dtick": 1},
                      yaxis={"visible": False})
    return fig


def variant_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """One row per attacker variant."""
    return pd.DataFrame([{
        "attacker": v["variant"],
        "accounts' age (days)": int(v["account_age_days"]),
        "share touching targets per day": _pct(v["drip"]),
        "audience exposure (mean)": _pct(v["exposure"]),
        "audience reached": _pct(v["reach"]),
        "impressions per sybil like": f"{v['amplification']:.2f}",
        "real likes on targets": v["real_target_engagements"],
    } for v in payload["attacker_variants"]])


def mitigation_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """One row per mitigation and attacker variant."""
    rows = []
    for m in payload["mitigations"]:
        for r in m["per_variant"]:
            holds = r["exposure_reduction"] >= payload["holds_bar"]["exposure_reduction"] and r["utility_loss"] <= payload["holds_bar"]["utility_loss"]
            rows.append({
                "mitigation": m["name"], "attacker": r["variant"],
                "exposure cut": _pct(r["exposure_reduction"]) if r["exposure_reduction"] >= 0
                else f"raised {r['exposure_after'] / max(r['exposure_before'], 1e-12):.1f}x",
                "utility loss": _pct(r["utility_loss"]),
                "sybils caught": f"{r['sybils_flagged']} / {r['sybils']}",
                "real users hit": f"{r['real_flagged']} / {r['real_users']}",
                "holds": "yes" if holds else "no",
            })
    return pd.DataFrame(rows)


def cost_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    """What each mitigation costs on the clean platform (no attack), and the honest note on it."""
    return pd.DataFrame([{
        "mitigation": m["name"],
        "utility loss, no attack": _pct(m["utility_loss_clean"]),
        "real users acted on, no attack": f"{m['real_flagged_clean']} / {payload['users']}",
        "holds against every attacker": "yes" if m["holds_against_all"] else "no",
        "note": m.get("note", ""),
    } for m in payload["mitigations"]])


def _atlas_frame(payload: Mapping[str, Any]) -> pd.DataFrame:
    from mlsiege.atlas import mitigation, technique

    rows = []
    for s in payload["atlas"]:
        rows.append({
            "attack step": s["step"],
            "ATLAS techniques": "; ".join(f"{t} {technique(t).name}" for t in s["techniques"]),
            "ATLAS mitigations": "; ".join(f"{m} {mitigation(m).name}" for m in s["atlas_mitigations"]) or "none",
            "measured here": ", ".join(s["mitigations"]) or "none: the platform cannot tell these real engagements apart",
        })
    return pd.DataFrame(rows)


def _notes(payload: Mapping[str, Any]) -> str:
    cfg = payload["config"]
    lines = [
        f"Platform: {payload['users']} real users, {payload['items']} posts, a {payload['recommender']} recommender "
        f"(random walk over likes and follows) retrained daily for {cfg['rounds']} days, {cfg['timeline_k']} posts per timeline. "
        f"The audience is the {payload['audience_size']} users most interested in the targets' topic (top "
        f"{1 - cfg['audience_quantile']:.0%}).",
        "Audience exposure: the share of audience timelines (among users who had not liked a target yet) that show a "
        "target, averaged over the days. Amplification: extra target impressions in all real timelines over the run, "
        "per distinct sybil like. Utility loss: relative drop of real users' expected likes on non-target posts (the "
        "simulator's ground-truth chance of engaging with each timeline slot, summed over the run), mitigated vs not, "
        "against the same attacker; a negative loss is a gain.",
        "A week late: the final attacked log retrained once without every sybil (perfect detection, too late), measured "
        "with mlsiege.defenses.reco.mitigation.measure_mitigation on the same recommender; its exposure is the top-"
        f"{cfg['timeline_k']} hit ratio at the end of the week, not the mean over the days.",
        "Impressions are attributed to a path by who the user follows: a followed sybil that liked the target, a "
        "followed real user that liked it (the cascade), or neither (co-engagement). Sybil-driven vs organic splits each "
        "impression by the share of sybils among those engagers. This is an attribution rule, not a counterfactual.",
        "A mitigation holds when it cuts exposure by at least "
        f"{payload['holds_bar']['exposure_reduction']:.0%} at no more than {payload['holds_bar']['utility_loss']:.0%} "
        "utility loss. Mitigations run from the first day, before every retrain.",
    ]
    if "aged-ring" not in [v["key"] for v in payload["attacker_variants"]]:
        lines.append("These attackers are not the worst case: aged accounts that do not form a pod (variant aged-ring: "
                     "mlsiege demo feed --variants pod,aged,mimicry,aged-ring) escaped every mitigation here in our "
                     "runs (docs/feed-scenario.md).")
    lines.append("Real users acted on: accounts with at least one like counted at less than half weight (or removed) "
                 "at the last retrain.")
    return "\n\n".join(lines)


def write_feed_demo_html(payload: Mapping[str, Any], path: str | Path) -> Path:
    """The demo's self-contained ``report.html``."""
    from mlsiege.report.html import HtmlReport

    cfg = payload["config"]
    page = HtmlReport(
        "Flagship B: rented sybils ride a social feed's engagement loop",
        f"{payload['n_sybils']} sybils ({payload['default_attacker']}) vs a {payload['recommender']} feed of "
        f"{payload['users']} users, {cfg['rounds']} days, seed {cfg['seed']}",
    )
    page.add_summary(summary_cards(payload))
    page.add_text("What to do", "\n\n".join(f"{i + 1}. {t}" for i, t in enumerate(payload["what_to_do"])))
    page.add_figure("How exposure spreads, day by day (attacked run)", spread_figure(payload))
    page.add_table("The chain per day: sybil likes -> impressions -> real likes -> further impressions", spread_frame(payload))
    page.add_figure("The cascade through the follow graph", cascade_figure(payload))
    page.add_table("Attacker variants (same platform, same budget of accounts)", variant_frame(payload))
    page.add_table("Mitigations against every attacker variant (in place from day 1)", mitigation_frame(payload))
    page.add_table("What each mitigation costs when there is no attack", cost_frame(payload))
    page.add_table("ATLAS techniques and mitigations, per attack step", _atlas_frame(payload))
    page.add_text("How to read this", _notes(payload))
    return page.write(path)
