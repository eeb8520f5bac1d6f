"""MITRE ATLAS catalog: look-ups by ID for findings and reports."""

from mlsiege.atlas.catalog import (
    LIFECYCLE_STAGES,
    Mitigation,
    Tactic,
    Technique,
    all_mitigations,
    all_techniques,
    catalog_version,
    mitigation,
    mitigations_for,
    tactic,
    technique,
)

__all__ = [
    "LIFECYCLE_STAGES",
    "Mitigation",
    "Tactic",
    "Technique",
    "all_mitigations",
    "all_techniques",
    "catalog_version",
    "mitigation",
    "mitigations_for",
    "tactic",
    "technique",
]
