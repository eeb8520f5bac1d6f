"""Findings: what an assessment found, how bad it is and why, and what to do about it.

A :class:`Finding` carries the evidence (numbers), the severity together with the rule that set
it, the MITRE ATLAS techniques it exercises and the ATLAS mitigations that answer it, each with the
mlsiege control that implements the mitigation. IDs are checked against the bundled catalog
(:mod:`mlsiege.atlas`), so a typo is caught when the finding is made, not in a report.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from mlsiege.atlas import mitigation, technique
from mlsiege.errors import ConfigError

__all__ = ["CONTROLS", "SEVERITIES", "Finding", "highest_severity", "reaches", "severity_rank"]

#: severities, lowest first
SEVERITIES = ("info", "low", "medium", "high", "critical")

#: the mlsiege control that implements each ATLAS mitigation a finding may recommend
CONTROLS: Mapping[str, str] = MappingProxyType(
    {
        "AML.M0002": "mlsiege.targets.LabelOnly / Rounded / TopK (reveal less from the API)",
        "AML.M0003": "adversarial training and constraint-aware retraining (mlsiege.defenses)",
        "AML.M0004": "per-client query budgets (mlsiege.targets.Budgeted; gateway rate limits)",
        "AML.M0005": "keep model files and training data out of reach (access control)",
        "AML.M0006": "ensembles of diverse models (retrain and re-scan)",
        "AML.M0007": "training-data filtering (mlsiege.defenses.data)",
        "AML.M0008": "gate releases on `mlsiege scan --fail-on` in CI",
        "AML.M0010": "project inputs onto the schema (mlsiege.schema.Schema.project / repair)",
        "AML.M0015": "adversarial/query-pattern detection (mlsiege.defenses.serving)",
        "AML.M0019": "authenticate and authorise API clients (mlsiege gateway)",
        "AML.M0024": "keep the query log (mlsiege.targets.QueryLog) and alert on it",
        "AML.M0025": "record dataset lineage (OpenLineage, mlsiege data extra)",
    }
)


def severity_rank(severity: str) -> int:
    """Position of ``severity`` in :data:`SEVERITIES` (``info`` is 0)."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        raise ConfigError(f"severity must be one of {SEVERITIES}, got {severity!r}") from None


def reaches(severity: str, level: str) -> bool:
    """True when ``severity`` is at least ``level`` (``reaches("critical", "high")``)."""
    return severity_rank(severity) >= severity_rank(level)


def highest_severity(findings: Iterable[Finding | Mapping[str, Any]]) -> str | None:
    """The most severe severity among ``findings`` (dicts or Finding), ``None`` when empty."""
    ranks = [
        severity_rank(f.severity if isinstance(f, Finding) else f["severity"]) for f in findings
    ]
    return SEVERITIES[max(ranks)] if ranks else None


@dataclass(frozen=True)
class Finding:
    """One thing an assessment found.

    Attributes
    ----------
    title
        One line a reader acts on, e.g. ``"Label-only evasion succeeds on 92% of rows"``.
    severity
        One of :data:`SEVERITIES`.
    rule
        Why that severity, stated with its threshold (``"success rate >= 50% -> high"``).
    evidence
        The numbers behind the finding (scalars, short lists).
    atlas_techniques, atlas_mitigations
        MITRE ATLAS IDs, validated against :mod:`mlsiege.atlas`.
    controls
        ``{mitigation ID: mlsiege control}``; filled from :data:`CONTROLS` for every mitigation
        not given explicitly.
    source
        What produced the finding (attack or check name), optional.
    """

    title: str
    severity: str
    rule: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    atlas_techniques: tuple[str, ...] = ()
    atlas_mitigations: tuple[str, ...] = ()
    controls: Mapping[str, str] = field(default_factory=dict)
    source: str = ""

    def __post_init__(self) -> None:
        if not str(self.title).strip():
            raise ConfigError("a finding needs a title")
        severity_rank(self.severity)
        if not str(self.rule).strip():
            raise ConfigError(f"finding {self.title!r} needs the rule that set its severity")
        if isinstance(self.atlas_techniques, str) or isinstance(self.atlas_mitigations, str):
            raise ConfigError("atlas_techniques and atlas_mitigations are lists of IDs, not a string")
        techs = tuple(dict.fromkeys(self.atlas_techniques))
        mits = tuple(dict.fromkeys(self.atlas_mitigations))
        for id_ in techs:
            technique(id_)
        for id_ in mits:
            mitigation(id_)
        extra = set(self.controls) - set(mits)
        if extra:
            raise ConfigError(f"controls name mitigations the finding does not list: {sorted(extra)}")
        controls = {m: self.controls.get(m) or CONTROLS.get(m, "no mlsiege control yet") for m in mits}
        object.__setattr__(self, "atlas_techniques", techs)
        object.__setattr__(self, "atlas_mitigations", mits)
        object.__setattr__(self, "controls", MappingProxyType(controls))
        object.__setattr__(self, "evidence", MappingProxyType(dict(self.evidence)))

    def reaches(self, level: str) -> bool:
        """True when this finding's severity is at least ``level``."""
        return reaches(self.severity, level)

    def to_dict(self) -> dict[str, Any]:
        """JSON-safe dict (the layout of ``report.json["findings"][i]``)."""
        from mlsiege.results import to_jsonable  # numpy: imported when a finding is written

        return to_jsonable(
            {
                "title": self.title,
                "severity": self.severity,
                "rule": self.rule,
                "evidence": dict(self.evidence),
                "atlas_techniques": list(self.atlas_techniques),
                "atlas_mitigations": list(self.atlas_mitigations),
                "controls": dict(self.controls),
                "source": self.source,
            }
        )

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        """Rebuild a finding from :meth:`to_dict` output (IDs are re-validated)."""
        try:
            return cls(
                title=data["title"],
                severity=data["severity"],
                rule=data["rule"],
                evidence=data.get("evidence", {}),
                atlas_techniques=tuple(data.get("atlas_techniques", ())),
                atlas_mitigations=tuple(data.get("atlas_mitigations", ())),
                controls=data.get("controls", {}),
                source=data.get("source", ""),
            )
        except KeyError as exc:
            raise ConfigError(f"a finding lacks the field {exc.args[0]!r}") from exc
