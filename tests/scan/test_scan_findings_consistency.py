"""Severity rules that cannot contradict each other; rules with level names; poisoning by effect."""

from __future__ import annotations

import numpy as np
from sklearn.tree import DecisionTreeClassifier

from mlsiege.report.rules import poisoning_finding, scan_findings
from mlsiege.scenarios.scan_steps import tree_rules
from mlsiege.schema import Feature, Schema


def _step(role, rate, recipe="r", points=10):
    return {"name": role, "role": role, "recipe": recipe, "status": "succeeded",
            "metrics": {"success_rate": rate, "points": points, "per_point_budget": 50}}


def test_as_deployed_is_at_least_label_only():
    payload = {"target": {"outputs": "probabilities"},
               "steps": [_step("evasion_score", 0.0, "greedy"), _step("evasion_label", 1.0, "hsj")]}
    found = {f.source: f for f in scan_findings(payload)}
    assert found["evasion_score"].severity == found["evasion_label"].severity == "critical"
    assert "label-only attack applies" in found["evasion_score"].rule
    assert "100%" in found["evasion_score"].title and "0%" in found["evasion_score"].title
    payload["steps"][0]["metrics"]["success_rate"] = 0.95
    payload["steps"][1]["metrics"]["success_rate"] = 0.5
    assert {f.source: f for f in scan_findings(payload)}["evasion_score"].title.startswith("Evasion through the API as deployed succeeds on 95%")


def test_poisoning_that_moved_nothing_is_info():
    m = {"clean": 0.9, "max_drop_flips": 0.0, "test_rows": 120, "recipes": [{"recipe": "flip", "fraction": 0.05, "drop": 0.004}]}
    f = poisoning_finding({"status": "succeeded", "metrics": m})
    assert f.severity == "info" and "nothing measurable" in f.title
    m["recipes"][0]["drop"] = 0.12
    assert poisoning_finding({"status": "succeeded", "metrics": m}).severity == "high"


def test_tree_rules_name_levels_not_codes():
    schema = Schema([Feature("service", "categorical", levels=tuple(f"s{k}" for k in range(30))),
                     Feature("flag", "binary"), Feature("n", "integer", 0, 50)])
    rng = np.random.default_rng(0)
    X = np.column_stack([rng.integers(0, 30, 400), rng.integers(0, 2, 400), rng.integers(0, 50, 400)]).astype(float)
    y = ((X[:, 0] <= 3) | (X[:, 2] > 40)).astype(int)
    text = tree_rules(DecisionTreeClassifier(max_depth=2, random_state=0).fit(X, y), schema)
    assert "service in {s0, s1, s2, s3}" in text and "<= 3.5" not in text and "answers 1" in text
    assert "rejected when" in tree_rules(DecisionTreeClassifier(max_depth=1).fit(X, y), schema, kind="scorer")
