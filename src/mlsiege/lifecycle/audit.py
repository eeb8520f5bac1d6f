"""Static audit of a lifecycle description: which stage stops which attack, and where none does.

For every attack path (:data:`~mlsiege.lifecycle.paths.ATTACK_PATHS`) whose entry condition the
pipeline offers, each step is matched against the controls at its stages. A path is ``stopped``
when some step has a stopping control, ``detected`` when controls only detect or limit it, and
``open`` when nothing on it reacts. Findings follow the scan's format
(:class:`mlsiege.report.findings.Finding`), with the ATLAS mitigation each missing control would
implement.

Severity rules (stated in every finding's ``rule``):

* open path with an outside entry (public intake/endpoint, untrusted or partner-writable source)
  -> ``high``; open path with only an internal entry -> ``medium``;
* detected but not stopped -> ``medium``;
* stopped, but no telemetry logging anywhere (nobody would know it was tried) -> ``low``;
* no provenance tracking or no telemetry logging at all -> ``medium`` (poison cannot be traced or
  purged; attacks cannot be investigated).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mlsiege.atlas import mitigation
from mlsiege.lifecycle.controls import CONTROL_CATALOG, STAGES
from mlsiege.lifecycle.paths import ATTACK_PATHS, AttackPath
from mlsiege.lifecycle.pipeline import PipelineSpec

__all__ = ["PathVerdict", "StaticAudit", "static_audit"]


@dataclass(frozen=True)
class PathVerdict:
    """What the pipeline does against one attack path."""

    path: str
    title: str
    applies: bool
    status: str  # "stopped" | "detected" | "open" | "not-applicable"
    outside_entry: bool
    stopped_at: tuple[tuple[str, str], ...]  # (stage, control)
    detected_at: tuple[tuple[str, str], ...]
    missing: tuple[tuple[str, str], ...]  # (stage, control) that would stop a step
    techniques: tuple[str, ...]

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path, "title": self.title, "applies": self.applies, "status": self.status,
            "outside_entry": self.outside_entry,
            "stopped_at": [list(x) for x in self.stopped_at],
            "detected_at": [list(x) for x in self.detected_at],
            "missing": [list(x) for x in self.missing],
            "atlas_techniques": list(self.techniques),
        }


@dataclass(frozen=True)
class StaticAudit:
    pipeline: str
    verdicts: tuple[PathVerdict, ...]
    findings: tuple[Any, ...]
    stages: tuple[Mapping[str, Any], ...] = field(default_factory=tuple)

    def uncovered(self) -> list[str]:
        """Paths that apply and that no control stops."""
        return [v.path for v in self.verdicts if v.applies and v.status != "stopped"]


def _entry(pipeline: PipelineSpec, path: AttackPath) -> tuple[bool, bool]:
    """(applies, entry comes from outside the organisation)."""
    sources = pipeline.sources
    if path.entry == "writable_source":
        open_sources = [s for s in sources if not s.trusted or s.writers != "internal"]
        return bool(open_sources) or not sources, any(s.writers != "internal" for s in open_sources) or not sources
    if path.entry == "public_intake":
        public = [s for s in sources if s.writers == "public"]
        return bool(public) or not sources, bool(public) or not sources
    if path.entry == "endpoint":
        serve = pipeline.stages.get("serve")
        exposure = serve.options.get("exposure", "public") if serve else "public"
        return "serve" in pipeline.stages, exposure != "internal"
    if path.entry == "reuse":
        return "reuse" in pipeline.stages, False
    return "train" in pipeline.stages or "serve" in pipeline.stages, True


def _verdict(pipeline: PipelineSpec, path: AttackPath) -> PathVerdict:
    applies, outside = _entry(pipeline, path)
    stopped, detected, missing = [], [], []
    for step in path.steps:
        for stage in step.stages:
            present = pipeline.controls_at(stage)
            stopped += [(stage, c) for c in sorted(step.stops & present)]
            detected += [(stage, c) for c in sorted(step.detects & present)]
            # a step nothing can stop (novel abuse) still has controls that would detect it
            wanted = step.stops or step.detects
            missing += [(stage, c) for c in sorted(wanted - present) if stage in CONTROL_CATALOG[c].stages]
    if not applies:
        status = "not-applicable"
    elif stopped:
        status = "stopped"
    elif detected:
        status = "detected"
    else:
        status = "open"
    return PathVerdict(path.id, path.title, applies, status, outside, tuple(stopped), tuple(detected),
                       tuple(dict.fromkeys(missing)), path.techniques)


def _mitigations(controls: list[str]) -> list[str]:
    ids = [m for c in controls for m in CONTROL_CATALOG[c].mitigations]
    return [m for m in dict.fromkeys(ids) if mitigation(m)]


def _findings(pipeline: PipelineSpec, verdicts: list[PathVerdict]) -> list[Any]:
    from mlsiege.report.findings import Finding

    logged = pipeline.has_anywhere("telemetry_logging")
    out = []
    for v in verdicts:
        if not v.applies:
            continue
        to_add = sorted({c for _, c in v.missing})
        evidence = {"path": v.path, "stopped_at": [f"{s}:{c}" for s, c in v.stopped_at],
                    "detected_at": [f"{s}:{c}" for s, c in v.detected_at],
                    "controls_that_would_stop_it": [f"{s}:{c}" for s, c in v.missing]}
        if v.status == "open":
            severity = "high" if v.outside_entry else "medium"
            rule = ("open path with an outside entry -> high" if v.outside_entry
                    else "open path with an internal entry -> medium")
            title = f"Nothing stops: {v.title.lower()}"
        elif v.status == "detected":
            severity, rule = "medium", "detected or limited but not stopped -> medium"
            title = f"Only detected, never stopped: {v.title.lower()}"
        elif not logged:
            severity, rule = "low", "stopped, but no telemetry logging anywhere -> low"
            title = f"Stopped without a trace: {v.title.lower()} (no audit log)"
            to_add = ["telemetry_logging"]
        else:
            continue
        out.append(Finding(title=title, severity=severity, rule=rule, evidence=evidence,
                           atlas_techniques=v.techniques, atlas_mitigations=tuple(_mitigations(to_add)),
                           controls={m: _control_for(m, to_add) for m in _mitigations(to_add)},
                           source=f"lifecycle-audit:{v.path}"))
    for control, title, techniques in (
        ("provenance_tracking", "No dataset provenance: poisoned records cannot be traced forward or purged",
         ("AML.T0020", "AML.T0019")),
        ("telemetry_logging", "No telemetry logging: probing and extraction cannot be detected or investigated",
         ("AML.T0040", "AML.T0024.002")),
    ):
        if not pipeline.has_anywhere(control):
            mits = _mitigations([control])
            out.append(Finding(title=title, severity="medium", rule=f"no {control} at any stage -> medium",
                               evidence={"missing_control": control, "stages_where_it_belongs": list(CONTROL_CATALOG[control].stages)},
                               atlas_techniques=techniques, atlas_mitigations=tuple(mits),
                               controls={m: CONTROL_CATALOG[control].implementation for m in mits},
                               source=f"lifecycle-audit:{control}"))
    return out


def _control_for(mitigation_id: str, controls: list[str]) -> str:
    names = [c for c in controls if mitigation_id in CONTROL_CATALOG[c].mitigations]
    return "; ".join(f"{c}: {CONTROL_CATALOG[c].implementation}" for c in names)


def _stage_table(pipeline: PipelineSpec) -> list[dict[str, Any]]:
    from mlsiege.atlas.catalog import LIFECYCLE_STAGES

    phase = {s: p for p, stages in LIFECYCLE_STAGES.items() for s in stages}
    rows = []
    for stage in STAGES:
        spec = pipeline.stages.get(stage)
        controls = sorted(spec.controls) if spec else []
        rows.append({
            "stage": stage,
            "described": spec is not None,
            "atlas_phase": phase.get(stage, ""),
            "controls": controls,
            "atlas_mitigations": _mitigations(controls),
        })
    return rows


def static_audit(pipeline: PipelineSpec) -> StaticAudit:
    """Audit a pipeline description without running anything.

    Examples
    --------
    >>> from mlsiege.lifecycle.pipeline import parse_pipeline
    >>> p = parse_pipeline("stages:\\n  collect:\\n    sources: [{name: form, writers: public}]\\n  serve: {}\\n")
    >>> sorted(static_audit(p).uncovered())[:2]
    ['flood-skew', 'novel-abuse']
    """
    verdicts = [_verdict(pipeline, p) for p in ATTACK_PATHS]
    return StaticAudit(pipeline.name, tuple(verdicts), tuple(_findings(pipeline, verdicts)), tuple(_stage_table(pipeline)))
