"""The controls a lifecycle stage may hold, and the MITRE ATLAS mitigation each implements.

A pipeline description (:mod:`mlsiege.lifecycle.pipeline`) names controls from this vocabulary;
the static audit (:mod:`mlsiege.lifecycle.audit`) reasons about which attack steps each one stops
or only detects, and the dynamic audit runs the mlsiege component named in ``implementation``.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["CONTROL_CATALOG", "STAGES", "ControlInfo"]

#: lifecycle stages in order (DESIGN.md); ``reuse`` covers sharing, export and resale of data
STAGES = ("collect", "validate", "transform", "train", "evaluate", "serve", "monitor", "reuse")


@dataclass(frozen=True)
class ControlInfo:
    """What a control is, where it may sit, which ATLAS mitigations it implements, and how."""

    name: str
    stages: tuple[str, ...]
    mitigations: tuple[str, ...]
    implementation: str
    description: str


def _c(name: str, stages: tuple[str, ...], mitigations: tuple[str, ...], implementation: str, description: str) -> ControlInfo:
    return ControlInfo(name, stages, mitigations, implementation, description)


CONTROL_CATALOG: dict[str, ControlInfo] = {
    c.name: c
    for c in (
        _c("source_access_control", ("collect",), ("AML.M0005",), "restricted writers per source",
           "only named, authenticated writers can add records to a data source"),
        _c("intake_rate_limits", ("collect",), ("AML.M0004",), "mlsiege gateway quotas on the intake endpoint",
           "per-client and per-network-prefix limits on an open intake (sign-ups, uploads)"),
        _c("provenance_tracking", ("collect", "validate", "transform", "reuse"), ("AML.M0025",),
           "mlsiege.lifecycle.lineage (OpenLineage events)",
           "every record carries its source, batch and hash; datasets and models record their inputs"),
        _c("schema_validation", ("validate", "transform", "reuse"), ("AML.M0007",),
           "mlsiege.defenses.data schema validation (pandera, generated from the mlsiege schema)",
           "records that break types, bounds or domain relations are rejected"),
        _c("poisoning_screen", ("validate", "transform", "train", "reuse"), ("AML.M0007",),
           "mlsiege.defenses.data (provenance filtering, spectral signatures, k-NN label consistency)",
           "suspicious records or whole sources are removed before training or sharing"),
        _c("artifact_verification", ("collect", "train", "serve"), ("AML.M0014", "AML.M0023"),
           "hash and sign datasets and model files; an AI bill of materials",
           "datasets and models are verified before use"),
        _c("model_hardening", ("train",), ("AML.M0003",), "adversarial / constraint-aware retraining",
           "the model is trained against adversarial examples"),
        _c("ensemble", ("train",), ("AML.M0006",), "diverse models voting", "several diverse models decide together"),
        _c("model_validation", ("evaluate",), ("AML.M0008",), "`mlsiege scan --fail-on` as a release gate",
           "a release is gated on held-out metrics and an adversarial scan"),
        _c("access_control", ("serve",), ("AML.M0019",), "mlsiege gateway API keys and roles",
           "only authenticated clients can query the model"),
        _c("query_limits", ("serve",), ("AML.M0004",), "mlsiege gateway quotas; mlsiege.targets.Budgeted",
           "each client has a query quota and rate limit"),
        _c("output_policy", ("serve",), ("AML.M0002",), "mlsiege.targets.LabelOnly / Rounded / TopK; gateway output policy",
           "the API reveals labels or coarse scores only"),
        _c("probing_detection", ("serve", "monitor"), ("AML.M0015", "AML.M0024"),
           "mlsiege.defenses.serving (PRADA per key, Blacklight-style across keys)",
           "query streams are watched for probing and extraction patterns"),
        _c("telemetry_logging", ("serve", "monitor"), ("AML.M0024",), "mlsiege gateway durable audit log",
           "every request and answer is logged durably"),
        _c("drift_monitoring", ("monitor",), ("AML.M0008",), "input/score drift tests against the training distribution",
           "shifts in inputs or decisions raise an alert"),
        _c("retraining_cleaned", ("train", "monitor"), ("AML.M0007", "AML.M0008"),
           "periodic retraining on screened, provenance-checked data",
           "the model is refit on a cadence, from data that passed the screens"),
        _c("human_review", ("validate", "monitor", "reuse"), (), "analyst review of flagged records and alerts",
           "people look at what the automated controls flag (no ATLAS mitigation maps to it directly)"),
    )
}
