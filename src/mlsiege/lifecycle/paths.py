"""Attack paths through a lifecycle, and which controls stop or only detect each step.

A path is what an attacker does end to end ("poison a source -> reaches training"). Each step
happens at one or more stages; a control *stops* a step when it sits at one of those stages and
removes the attack there, and *detects* it when it only raises an alert, limits the damage or
makes a later clean-up possible. The static audit uses these tables; the dynamic audit runs the
matching attacks through the controls to check them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ATTACK_PATHS", "AttackPath", "Step"]


@dataclass(frozen=True)
class Step:
    name: str
    stages: tuple[str, ...]
    stops: frozenset[str]
    detects: frozenset[str]


@dataclass(frozen=True)
class AttackPath:
    """An attack path; ``entry`` says what must hold for an attacker to start it."""

    id: str
    title: str
    entry: str
    techniques: tuple[str, ...]
    steps: tuple[Step, ...]


def _s(name: str, stages: tuple[str, ...], stops: tuple[str, ...] = (), detects: tuple[str, ...] = ()) -> Step:
    return Step(name, stages, frozenset(stops), frozenset(detects))


ATTACK_PATHS: tuple[AttackPath, ...] = (
    AttackPath(
        "poison-source",
        "Poison a writable data source so that its records reach training",
        "writable_source",
        ("AML.T0020", "AML.T0059"),
        (
            _s("write phony or mislabeled records into a source", ("collect",),
               stops=("source_access_control",), detects=("provenance_tracking",)),
            _s("pass validation", ("validate", "transform"),
               stops=("poisoning_screen",), detects=("schema_validation", "human_review")),
            _s("enter the training set", ("train",), stops=("poisoning_screen", "retraining_cleaned")),
            _s("survive evaluation and monitoring", ("evaluate", "monitor"),
               detects=("model_validation", "drift_monitoring")),
        ),
    ),
    AttackPath(
        "flood-skew",
        "Flood an open intake with phony records to skew the next model",
        "public_intake",
        ("AML.T0046", "AML.T0020", "AML.T0031"),
        (
            _s("register many records through the open intake", ("collect",),
               stops=("intake_rate_limits",), detects=("provenance_tracking",)),
            _s("pass validation", ("validate", "transform"),
               stops=("poisoning_screen",), detects=("schema_validation", "human_review")),
            _s("enter the next model's training set", ("train",), stops=("retraining_cleaned", "poisoning_screen")),
            _s("stay unnoticed", ("monitor",), detects=("drift_monitoring", "telemetry_logging")),
        ),
    ),
    AttackPath(
        "probe-extract-evade",
        "Probe the prediction endpoint, extract the model's rules, then evade it",
        "endpoint",
        ("AML.T0040", "AML.T0024.002", "AML.T0005", "AML.T0043", "AML.T0015"),
        (
            _s("query the endpoint at will", ("serve",),
               stops=("query_limits", "probing_detection"), detects=("access_control", "telemetry_logging")),
            _s("learn the decision boundary from answers", ("serve",), detects=("output_policy",)),
            _s("probe without being noticed", ("monitor",),
               stops=("probing_detection",), detects=("telemetry_logging", "human_review")),
        ),
    ),
    AttackPath(
        "reuse-propagation",
        "Poisoned records persist into reused, shared or sold datasets and the models built on them",
        "reuse",
        ("AML.T0019", "AML.T0020"),
        (
            _s("export the poisoned table", ("reuse",),
               stops=("poisoning_screen",), detects=("provenance_tracking", "human_review", "schema_validation")),
            _s("train downstream models on it", ("reuse", "train"), stops=("retraining_cleaned",)),
        ),
    ),
    AttackPath(
        "novel-abuse",
        "Abuse the detector has never seen (a new bot class, transferred evasion) is not flagged",
        "model",
        ("AML.T0015", "AML.T0043"),
        (
            _s("submit inputs from a class the detector was not trained on", ("train", "serve", "monitor"),
               detects=("model_hardening", "ensemble", "probing_detection", "drift_monitoring", "human_review")),
        ),
    ),
)
