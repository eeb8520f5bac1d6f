"""The scan pipeline with tiny fake recipes: budget sharing, steps, findings, errors."""

from __future__ import annotations

import numpy as np
import pytest
from scan_fakes import RECIPES, world

from mlsiege.errors import ConfigError
from mlsiege.report.rules import scan_findings
from mlsiege.results import comparable
from mlsiege.scenarios.scan import ScanConfig, plan_budget, run_scan
from mlsiege.targets import LabelOnly, from_callable, from_estimator


def test_plan_shares_the_whole_budget():
    plan = plan_budget(1000, ["evasion_score", "evasion_label", "extraction"], n_rows=500)
    assert plan == {"probe": 100, "evasion_score": 315, "evasion_label": 315, "extraction": 270}
    assert sum(plan.values()) == 1000
    only = plan_budget(50, ["evasion_label"], n_rows=3)
    assert only == {"probe": 3, "evasion_label": 47}


def test_budget_zero_is_a_config_error():
    with pytest.raises(ConfigError, match="--budget"):
        ScanConfig(budget=0)


def test_scan_runs_every_role_within_budget_and_yields_findings():
    X, y, schema, model, _ = world()
    from sklearn.linear_model import LogisticRegression

    out = run_scan(from_estimator(model), X, y, schema=schema, config=ScanConfig(budget=600, seed=1),
                   recipes=RECIPES, trainer=LogisticRegression())
    assert out.error is None and out.queries_used <= 600
    names = [s["name"] for s in out.steps]
    assert names == ["probe", "evasion_score", "evasion_label", "extraction", "poisoning"]
    ev = out.step("evasion_label")
    assert ev["metrics"]["success_rate"] > 0.5 and ev["queries"] <= out.plan["evasion_label"]
    assert ev["curve"]["success_rate"][-1] == ev["metrics"]["success_rate"]
    ex = out.step("extraction")
    assert ex["metrics"]["fidelity"] > 0.6 and ex["curve"]["queries"]
    # a depth-3 tree fitted on the answers, one readable rule per leaf with its support
    rules = ex["rules"].splitlines()
    assert 2 <= len(rules) <= 8 and all(r.startswith("answers ") and " when f" in r and "% agree]" in r for r in rules)
    assert out.step("poisoning")["metrics"]["recipes"][0]["fraction"] == pytest.approx(0.3, abs=0.01)
    assert [h["control"] for h in out.hardening][:2] == ["as deployed", "LabelOnly"]
    findings = scan_findings(out.to_payload())
    roles = {f.source for f in findings}
    assert {"probe", "evasion_label", "extraction", "poisoning"} <= roles
    assert all(f.atlas_techniques for f in findings)


def test_same_seed_same_scan():
    X, y, schema, model, _ = world()
    runs = [run_scan(from_estimator(model), X, y, schema=schema, config=ScanConfig(budget=300, seed=3),
                     recipes=RECIPES).to_payload() for _ in range(2)]
    assert comparable(runs[0]) == comparable(runs[1])


def test_label_only_target_skips_score_based_evasion():
    X, y, schema, model, _ = world()
    out = run_scan(LabelOnly(from_estimator(model)), X, y, schema=schema, config=ScanConfig(budget=300),
                   recipes=RECIPES)
    assert out.step("evasion_score")["status"] == "skipped"
    assert "reveals labels" in out.step("evasion_score")["reason"]
    assert out.target["outputs"] == "labels"


def test_target_that_raises_stops_the_scan_keeping_what_finished():
    X, y, schema, *_ = world()
    calls = {"n": 0}

    def flaky(rows):
        calls["n"] += 1
        if calls["n"] > 3:
            raise RuntimeError("model server crashed")
        return (rows[:, 0] > 0.5).astype(int)

    out = run_scan(from_callable(flaky), X, y, schema=schema, config=ScanConfig(budget=300), recipes=RECIPES)
    assert "model server crashed" in out.error
    assert out.step("probe")["status"] == "succeeded"  # what finished is kept
    assert any("stopped" in f.rule for f in scan_findings(out.to_payload()))


def test_scorer_is_attacked_through_its_threshold():
    from sklearn.ensemble import IsolationForest

    X, _, schema, *_ = world()
    det = IsolationForest(n_estimators=10, random_state=0, contamination=0.2).fit(X)
    out = run_scan(from_estimator(det), X, None, schema=schema, config=ScanConfig(budget=150),
                   recipes={k: v for k, v in RECIPES.items() if k != "poisoning"})
    assert out.target == {"kind": "scorer", "outputs": "scores"}
    assert out.step("evasion_label")["metrics"]["points"] > 0
    assert np.isfinite(out.step("evasion_label")["metrics"]["success_rate"])
