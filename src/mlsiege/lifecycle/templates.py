"""``mlsiege lifecycle init``: a commented pipeline template, starting from a maturity preset.

The presets are the registration scenario's maturity profiles
(:data:`mlsiege.lifecycle.profiles.PROFILES`): ``low`` (no validation, no logging, no
maintenance), ``hardened-model`` (``low`` plus a hardened model: the claim under test is that
this alone gives little), ``medium`` and ``high``. A template audits unedited; the artefact
fields stay commented out until a user points them at real files.
"""

from __future__ import annotations

from mlsiege.errors import ConfigError
from mlsiege.lifecycle.controls import CONTROL_CATALOG, STAGES
from mlsiege.lifecycle.profiles import PROFILES

__all__ = ["MATURITY_PRESETS", "render_template"]

def _presets() -> dict[str, dict[str, list[str]]]:
    # one source of truth: the registration scenario's maturity profiles
    return {name: {stage: profile.at(stage) for stage in STAGES} for name, profile in PROFILES.items()}


MATURITY_PRESETS: dict[str, dict[str, list[str]]] = _presets()

_STAGE_NOTES = {
    "collect": "where records come from: sign-up forms, partner feeds, purchased lists",
    "validate": "checks before data is accepted",
    "transform": "feature engineering, joins, deduplication",
    "train": "model fitting; retraining: none | periodic | periodic-cleaned",
    "evaluate": "release gates",
    "serve": "the prediction API; exposure: public | authenticated | internal",
    "monitor": "what is watched after release",
    "reuse": "exports, sharing with other teams, resale",
}


def render_template(maturity: str = "low", name: str = "my-pipeline") -> str:
    """The commented YAML template for ``maturity``."""
    if maturity not in MATURITY_PRESETS:
        raise ConfigError(f"maturity must be one of {', '.join(MATURITY_PRESETS)}, got {maturity!r}")
    preset = MATURITY_PRESETS[maturity]
    lines = [
        "# mlsiege lifecycle description. Audit it with: mlsiege lifecycle audit THIS_FILE --out DIR",
        f"# Started from the '{maturity}' maturity preset: edit the stages to match your pipeline.",
        "# Controls you can list at a stage (name: stages where it belongs -> ATLAS mitigations):",
    ]
    for c in sorted(CONTROL_CATALOG.values(), key=lambda c: c.name):
        mits = ", ".join(c.mitigations) or "none"
        lines.append(f"#   {c.name}: {', '.join(c.stages)} -> {mits}")
    lines += ["version: 1", f"name: {name}", f"maturity: {maturity}", "stages:"]
    for stage in STAGES:
        lines.append(f"  {stage}:  # {_STAGE_NOTES[stage]}")
        if stage == "collect":
            lines += [
                "    sources:  # writers: public | partners | internal",
                "      - {name: signup-form, trusted: false, writers: public}",
                "      - {name: partner-feed, trusted: false, writers: partners}",
                "      - {name: crm-export, trusted: true, writers: internal}",
            ]
        if stage == "train":
            lines.append(f"    retraining: {'periodic-cleaned' if 'retraining_cleaned' in preset[stage] else 'none'}")
        if stage == "serve":
            lines.append(f"    exposure: {'authenticated' if 'access_control' in preset[stage] else 'public'}")
        if stage == "reuse":
            lines.append("    shared_with: [marketing, data-buyers]")
        controls = preset[stage]
        lines.append(f"    controls: [{', '.join(controls)}]")
    lines += [
        "# Point these at real artefacts (uncomment) to run the dynamic audit through the stages above:",
        "artefacts:",
        "  # data: data.csv              # CSV or Parquet with the features and the label",
        "  # label: is_abuse             # label column (1 = abuse / positive class)",
        "  # class_column: abuse_type    # optional: which known class of abuse each positive row is",
        "  # model: model.joblib         # the deployed model (joblib, ONNX, http(s)://, module:callable)",
        "  # schema: schema.yaml         # from: mlsiege schema infer features.csv -o schema.yaml",
        "  # trainer: mypkg.train:make_model   # returns an unfitted estimator (for retraining tests)",
    ]
    return "\n".join(lines) + "\n"
