"""Severity rules: how a scan's numbers become findings.

Each rule is a plain function of one step of the scan payload (``report.json["steps"]``) that
returns a :class:`~mlsiege.report.findings.Finding` or ``None``. The thresholds are module
constants so a reader of the report sees exactly why a finding got its severity (the ``rule``
text quotes them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from mlsiege.report.findings import SEVERITIES, Finding

__all__ = [
    "EVASION_THRESHOLDS",
    "EXTRACTION_THRESHOLDS",
    "FAR_RATIO",
    "POISONING_THRESHOLDS",
    "evasion_finding",
    "exposure_finding",
    "extraction_finding",
    "poisoning_finding",
    "scan_findings",
]

#: evasion success rate (valid adversarial rows / attacked rows) -> severity, first match wins
EVASION_THRESHOLDS = ((0.9, "critical"), (0.5, "high"), (0.2, "medium"), (0.0, "low"))
#: an evasion whose rows lie further than this fraction of the distance to the nearest real row of
#: another label is barely better than submitting that row: its severity is lowered one level
FAR_RATIO = 0.8
#: surrogate fidelity (agreement with the target on held-out rows) -> severity
EXTRACTION_THRESHOLDS = ((0.95, "high"), (0.85, "medium"), (0.0, "low"))
#: accuracy lost by the trainer -> severity; a drop under 1 point (or under one test row) moved
#: nothing measurable and is ``info``
POISONING_THRESHOLDS = ((0.10, "high"), (0.03, "medium"), (0.01, "low"))


def _grade(value: float, table: tuple[tuple[float, str], ...], what: str) -> tuple[str, str]:
    for threshold, severity in table:
        if value >= threshold:
            return severity, f"{what} {value:.3g} >= {threshold:g} -> {severity}"
    return "info", f"{what} {value:.3g} below every threshold -> info"


def evasion_finding(step: Mapping[str, Any], label_step: Mapping[str, Any] | None = None) -> Finding | None:
    """Evasion: severity from the success rate; label-only evasion also lists the T0043.001 path.

    ``label_step`` is the label-only step of the same scan: an API as deployed answers labels
    too, so an attacker can run the label-only attack on it, and its rate is at least the
    label-only one (the larger of the two is graded; both are shown).
    """
    m = step.get("metrics", {})
    if step.get("status") in ("skipped", "error") or not m.get("points"):
        return None
    rate = float(m["success_rate"])
    label_only = step["role"] == "evasion_label"
    api = "through its label-only form" if label_only else "through the API as deployed"
    lm = (label_step or {}).get("metrics", {}) if not label_only else {}
    via_labels = (lm.get("success_rate") is not None and lm.get("points")
                  and (label_step or {}).get("status") not in ("skipped", "error")
                  and float(lm["success_rate"]) > rate)
    own_rate, recipe = rate, step["recipe"]
    if via_labels:
        rate, m = float(lm["success_rate"]), {**m, **{k: lm.get(k) for k in lm}}
        recipe = f"{label_step['recipe']} on its labels; {step['recipe']} on its scores: {own_rate:.0%}"
    if rate == 0:
        severity, rule = "info", f"no valid adversarial row in {m['points']} attacked rows -> info"
    else:
        severity, rule = _grade(rate, EVASION_THRESHOLDS, "success rate")
        far = m.get("median_l2_vs_nearest_other")
        if far is not None and far > FAR_RATIO and severity != "low":
            severity = SEVERITIES[SEVERITIES.index(severity) - 1]
            rule += (f"; lowered to {severity}: the adversarial rows lie {far:.2g}x as far as the nearest"
                     f" real row of another label (> {FAR_RATIO:g})")
    if via_labels:
        rule += (f" (the deployed API answers labels too, so the label-only attack applies to it: "
                 f"max({own_rate:.0%} with scores, {rate:.0%} with labels) is graded)")
    mitigations = ["AML.M0003", "AML.M0015", "AML.M0004"] + ([] if label_only else ["AML.M0002"])
    return Finding(
        title=f"Evasion {api} succeeds on {rate:.0%} of {m['points']} rows ({recipe})",
        severity=severity,
        rule=rule,
        evidence={k: m.get(k) for k in ("success_rate", "points", "per_point_budget",
                                        "median_queries_to_first_success", "median_l2", "median_linf",
                                        "median_features_changed", "median_l2_vs_nearest_other",
                                        "valid_rate", "distance_unit")},
        atlas_techniques=["AML.T0015", "AML.T0043.001", "AML.T0040"],
        atlas_mitigations=mitigations,
        source=step["name"],
    )


def extraction_finding(step: Mapping[str, Any]) -> Finding | None:
    """Extraction: severity from the surrogate's fidelity at the queries it cost."""
    m = step.get("metrics", {})
    fidelity = m.get("fidelity")
    if step.get("status") in ("skipped", "error") or fidelity is None:
        return None
    severity, rule = _grade(float(fidelity), EXTRACTION_THRESHOLDS, "fidelity")
    return Finding(
        title=f"A copy of the model agreeing on {fidelity:.0%} of rows costs {m['queries']} queries",
        severity=severity,
        rule=rule,
        evidence={"fidelity": fidelity, "queries": m["queries"], "surrogate": m.get("surrogate"),
                  "rules_fidelity": m.get("rules_fidelity"), "eval_rows": m.get("eval_rows")},
        atlas_techniques=["AML.T0024.002", "AML.T0005", "AML.T0040"],
        atlas_mitigations=["AML.M0004", "AML.M0002", "AML.M0024"],
        source=step["name"],
    )


def poisoning_finding(step: Mapping[str, Any]) -> Finding | None:
    """Poisoning: severity from the largest accuracy drop (random flips or the recipe)."""
    m = step.get("metrics", {})
    if step.get("status") != "succeeded" or "clean" not in m:
        return None
    drops = {"random label flips": m["max_drop_flips"]}
    for r in m.get("recipes", []):
        drops[f"{r['recipe']} ({r['fraction']:.0%} of records poisoned)"] = r["drop"]
    worst = max(drops, key=drops.get)
    drop = max(0.0, float(drops[worst]))
    one_row = 1.0 / max(int(m.get("test_rows") or 1), 1)
    if drop <= one_row or drop < POISONING_THRESHOLDS[-1][0]:
        severity = "info"
        rule = (f"accuracy drop {drop:.3g} is within one test row ({one_row:.3g}) or under "
                f"{POISONING_THRESHOLDS[-1][0]:g}: the poisoning moved nothing measurable -> info")
    else:
        severity, rule = _grade(drop, POISONING_THRESHOLDS, "accuracy drop")
    title = (f"{worst} cut the retrained model's accuracy by {drop:.1%}" if severity != "info"
             else f"Poisoning moved nothing measurable: the largest accuracy drop was {drop:.1%} ({worst})")
    return Finding(
        title=title,
        severity=severity,
        rule=rule,
        evidence={**{k: v for k, v in m.items() if isinstance(v, (int, float, str))},
                  **{f"drop {r['recipe']}": r["drop"] for r in m.get("recipes", [])}},
        atlas_techniques=["AML.T0020", "AML.T0031"],
        atlas_mitigations=["AML.M0007", "AML.M0025", "AML.M0008"],
        source="poisoning",
    )


def exposure_finding(payload: Mapping[str, Any]) -> Finding | None:
    """What the API reveals: full-precision scores help attackers; this is medium at most."""
    outputs = payload.get("target", {}).get("outputs")
    probe = next((s for s in payload.get("steps", []) if s["name"] == "probe"), None)
    if probe is None or outputs is None:
        return None
    distinct = probe["metrics"].get("distinct_outputs")
    if outputs in ("probabilities", "scores"):
        severity = "medium"
        rule = f"the API returns {outputs} (not only decisions) -> medium"
        title = f"The API reveals {outputs}" + (f": {distinct} distinct answers to {probe['queries']} queries" if distinct else "")
        mitigations = ["AML.M0002", "AML.M0004", "AML.M0024"]
    else:
        severity, rule = "info", f"the API returns only {outputs} -> info"
        title = f"The API reveals only {outputs}"
        mitigations = ["AML.M0004", "AML.M0024"]
    return Finding(
        title=title,
        severity=severity,
        rule=rule,
        evidence={"outputs": outputs, **{k: v for k, v in probe["metrics"].items()}},
        atlas_techniques=["AML.T0040", "AML.T0063"],
        atlas_mitigations=mitigations,
        source="probe",
    )


def scan_findings(payload: Mapping[str, Any]) -> list[Finding]:
    """Every finding of a scan payload (``ScanOutcome.to_payload()``), most severe first."""
    from mlsiege.report.findings import severity_rank

    findings: list[Finding] = []
    exposure = exposure_finding(payload)
    if exposure is not None:
        findings.append(exposure)
    label_step = next((s for s in payload.get("steps", []) if s.get("role") == "evasion_label"), None)
    for step in payload.get("steps", []):
        rule = {"evasion_score": lambda s: evasion_finding(s, label_step), "evasion_label": evasion_finding,
                "extraction": extraction_finding, "poisoning": poisoning_finding}.get(step["role"])
        found = rule(step) if rule else None
        if found is not None:
            findings.append(found)
        elif step.get("status") == "error":
            findings.append(Finding(
                title=f"{step['name']} could not run: {step.get('reason', 'error')}",
                severity="info", rule="a step that failed proves nothing either way -> info",
                evidence={"recipe": step.get("recipe")}, source=step["name"]))
    if payload.get("error"):
        findings.append(Finding(
            title=payload["error"], severity="info",
            rule="the scan stopped early; findings above cover only what finished -> info",
            evidence={"queries_used": payload.get("budget", {}).get("used")},
            atlas_techniques=["AML.T0040"], source="scan"))
    findings.sort(key=lambda f: -severity_rank(f.severity))
    return findings
