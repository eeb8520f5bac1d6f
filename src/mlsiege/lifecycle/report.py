"""Run a lifecycle audit end to end and write ``report.json`` / ``report.html``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from mlsiege.errors import MlsiegeError
from mlsiege.lifecycle.audit import static_audit
from mlsiege.lifecycle.pipeline import load_pipeline

__all__ = ["run_audit"]


def run_audit(pipeline_path: str | Path, out: str | Path, *, budget: int = 500, seed: int = 0) -> dict[str, Any]:
    """Static audit, then the dynamic audit and generalization test where artefacts allow.

    Whatever finished is written even when a later part fails; the failure is recorded in
    ``notes``.
    """
    from mlsiege.report.json_report import read_json, write_json
    from mlsiege.report.lifecycle import lifecycle_page

    pipeline = load_pipeline(pipeline_path)
    result = static_audit(pipeline)
    findings = [f.to_dict() for f in result.findings]
    payload: dict[str, Any] = {
        "pipeline": pipeline.name,
        "maturity": pipeline.maturity,
        "findings": findings,
        "paths": [v.to_dict() for v in result.verdicts],
        "uncovered": result.uncovered(),
        "stages": list(result.stages),
        "dynamic": None,
        "generalization": None,
        "notes": [],
    }
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if pipeline.artefacts:
        from mlsiege.lifecycle.dynamic import dynamic_audit

        try:
            dynamic, extra_findings, generalization = dynamic_audit(pipeline, Path(pipeline_path).parent, budget=budget, seed=seed)
            payload["dynamic"] = dynamic
            payload["notes"] += dynamic.pop("notes", [])
            payload["generalization"] = generalization
            payload["findings"] = findings + [f.to_dict() for f in extra_findings]
        except Exception as exc:  # keep the static audit: write what finished, say what did not
            from mlsiege.lifecycle.trainer import could_not_run

            reason = str(exc) if isinstance(exc, MlsiegeError) else f"{type(exc).__name__}: {exc}"
            payload["notes"].append(f"dynamic audit failed: {reason}")
            payload["findings"] = findings + [could_not_run("dynamic audit", reason).to_dict()]
    path = write_json(out / "report.json", payload, kind="lifecycle-audit")
    document = read_json(path)
    lifecycle_page(document).write(out / "report.html")
    return document
