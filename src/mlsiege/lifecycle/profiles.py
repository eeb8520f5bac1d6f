"""Lifecycle maturity profiles: which controls sit at which stage.

A profile is a list of controls placed at lifecycle stages (collect -> validate -> transform ->
train -> evaluate -> serve -> monitor -> reuse). Control names come from
:data:`mlsiege.lifecycle.controls.CONTROL_CATALOG`, which also gives each control's MITRE ATLAS
mitigations. The four built-in profiles are those of the registration scenario (the seed's first
story):

* ``low``: the model is deployed and nothing else: no validation, no logging, no retraining;
* ``hardened-model``: ``low`` with the model adversarially trained (known bots wearing benign
  registrants' form fields are added as bots before fitting) — the claim under test is that
  hardening the model alone gives little when the lifecycle is weak. No ensemble is built: the
  ``ensemble`` control is not part of any built-in profile;
* ``medium``: intake limits and provenance checks, schema validation, a hardened model, request
  logging and drift monitoring that alerts (nobody acts on the alerts);
* ``high``: everything in ``medium`` plus probing detection at the endpoint, analyst review of
  monitoring alerts, poison screening before reuse and retraining on cleaned data behind a
  release gate.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from mlsiege.errors import ConfigError
from mlsiege.lifecycle.controls import CONTROL_CATALOG, STAGES

__all__ = ["PROFILES", "MaturityProfile", "get_profile", "parse_profiles"]


@dataclass(frozen=True)
class MaturityProfile:
    """A named placement of controls at lifecycle stages.

    Parameters
    ----------
    name
        Profile name.
    controls
        ``(stage, control)`` pairs; stages from :data:`STAGES`, controls from the catalog.
    description
        One sentence for reports.
    """

    name: str
    controls: tuple[tuple[str, str], ...]
    description: str = ""

    def __post_init__(self) -> None:
        for stage, control in self.controls:
            if stage not in STAGES:
                raise ConfigError(f"profile {self.name!r}: unknown stage {stage!r}; stages: {', '.join(STAGES)}")
            info = CONTROL_CATALOG.get(control)
            if info is None:
                raise ConfigError(f"profile {self.name!r}: unknown control {control!r}")
            if stage not in info.stages:
                raise ConfigError(f"profile {self.name!r}: control {control!r} cannot sit at {stage!r} "
                                  f"(allowed: {', '.join(info.stages)})")

    def has(self, control: str, stage: str | None = None) -> bool:
        """Whether ``control`` is in place (at ``stage``, when given)."""
        return any(c == control and (stage is None or s == stage) for s, c in self.controls)

    def at(self, stage: str) -> list[str]:
        """Controls at ``stage``, in the order given."""
        return [c for s, c in self.controls if s == stage]

    def mitigations(self, stage: str | None = None) -> list[str]:
        """ATLAS mitigation IDs implemented by the controls (at ``stage``), sorted, unique."""
        ids = {m for s, c in self.controls if stage is None or s == stage for m in CONTROL_CATALOG[c].mitigations}
        return sorted(ids)

    def to_dict(self) -> dict[str, object]:
        return {"name": self.name, "description": self.description,
                "stages": {stage: self.at(stage) for stage in STAGES}}

    @classmethod
    def from_mapping(cls, name: str, stages: Mapping[str, Iterable[str]], description: str = "") -> MaturityProfile:
        """Build a profile from ``{stage: [control, ...]}`` (e.g. read from YAML)."""
        if not isinstance(stages, Mapping):
            raise ConfigError(f"profile {name!r} must map stages to lists of controls")
        pairs = []
        for stage, controls in stages.items():
            if isinstance(controls, str) or not isinstance(controls, Iterable):
                raise ConfigError(f"profile {name!r}: stage {stage!r} needs a list of controls")
            pairs.extend((str(stage), str(c)) for c in controls)
        return cls(name, tuple(sorted(pairs, key=lambda p: STAGES.index(p[0]) if p[0] in STAGES else -1)), description)


_HARDENED = (("train", "model_hardening"),)
_MEDIUM = (
    ("collect", "intake_rate_limits"), ("collect", "provenance_tracking"),
    ("validate", "schema_validation"), *_HARDENED,
    ("serve", "telemetry_logging"), ("monitor", "drift_monitoring"),
)
PROFILES: dict[str, MaturityProfile] = {
    p.name: p
    for p in (
        MaturityProfile("low", (), "the model is deployed; no validation, no logging, no retraining"),
        MaturityProfile("hardened-model", _HARDENED,
                        "low, with the detector adversarially trained on mimicry examples"),
        MaturityProfile("medium", _MEDIUM,
                        "intake limits, provenance and schema checks, hardened model, logging and drift alerts"),
        MaturityProfile("high", (
            *_MEDIUM[:3], *_HARDENED, ("train", "retraining_cleaned"), ("evaluate", "model_validation"),
            ("serve", "probing_detection"), ("serve", "telemetry_logging"),
            ("monitor", "drift_monitoring"), ("monitor", "human_review"), ("reuse", "poisoning_screen"),
        ), "medium plus probing detection, analyst review, poison screening and cleaned retraining"),
    )
}


def get_profile(name: str) -> MaturityProfile:
    """A built-in profile by name."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ConfigError(f"unknown profile {name!r}; known: {', '.join(PROFILES)}") from None


def parse_profiles(text: str | Iterable[str]) -> list[MaturityProfile]:
    """Profiles from ``"low,high"`` or a list of names (order kept, duplicates dropped)."""
    names = [n.strip() for n in (text.split(",") if isinstance(text, str) else text)]
    names = [n for n in dict.fromkeys(names) if n]
    if not names:
        raise ConfigError("no profile named; known: " + ", ".join(PROFILES))
    return [get_profile(n) for n in names]
