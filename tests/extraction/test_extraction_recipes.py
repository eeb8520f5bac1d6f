"""Extraction recipes on tiny synthetic targets: exactness, budgets, knowledge modes, hardening."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from mlsiege.attacks.extraction import (
    active_extraction_chandrasekaran2020,
    equation_solving_tramer2016,
    path_finding_tramer2016,
    rule_recovery_craven1996,
    transfer_evasion_papernot2017,
)
from mlsiege.attacks.extraction.active import ActiveExtractionConfig
from mlsiege.errors import ConfigError
from mlsiege.schema import Feature, Schema
from mlsiege.targets import Budgeted, LabelOnly, Rounded, from_callable, from_estimator

SMALL = {"thief": RandomForestClassifier(n_estimators=15)}


def _schema(d: int = 4) -> Schema:
    return Schema([Feature(f"x{i}", "real", 0.0, 1.0) for i in range(d)], ["x0 + x1 <= 1.8"])


def _rule(X: np.ndarray) -> np.ndarray:
    return ((X[:, 0] > 0.6) | ((X[:, 1] < 0.3) & (X[:, 2] > 0.5))).astype(int)


@pytest.fixture(scope="module")
def world():
    rng = np.random.default_rng(0)
    schema = _schema()
    X = schema.project(rng.uniform(0, 1, (400, 4)))
    return {"schema": schema, "pool": X[:150], "eval": X[150:], "eval_y": _rule(X[150:])}


def test_active_extraction_schema_plus_pool_is_faithful_and_exact_on_budget(world):
    api = from_callable(_rule)
    r = active_extraction_chandrasekaran2020(
        api, schema=world["schema"], pool_X=world["pool"], budget=60, seed=0,
        eval_X=world["eval"], eval_y=world["eval_y"], **SMALL,
    )
    assert r.queries == 60 and r.status == "succeeded"
    assert r.artifacts["knowledge"] == "schema+pool"
    assert r.metrics["fidelity"] >= 0.9
    curve = r.artifacts["fidelity_curve"]
    assert [p["queries"] for p in curve] == sorted(p["queries"] for p in curve) and curve[-1]["queries"] == 60
    assert world["schema"].valid_mask(r.artifacts["queried"]).all()
    assert set(r.atlas_techniques) == {"AML.T0024.002", "AML.T0005"}


def test_schema_only_synthesizes_feasible_queries(world):
    r = active_extraction_chandrasekaran2020(
        from_callable(_rule), schema=world["schema"], budget=120, seed=1,
        eval_X=world["eval"], eval_y=world["eval_y"], **SMALL,
    )
    assert r.artifacts["knowledge"] == "schema"
    assert r.queries == 120
    assert world["schema"].valid_mask(r.artifacts["queried"]).all()
    assert len(r.artifacts["boundary_points"]) > 0
    assert r.metrics["fidelity"] >= 0.8


def test_labeled_pool_needs_no_queries_for_its_labels(world):
    r = active_extraction_chandrasekaran2020(
        from_callable(_rule), schema=world["schema"], pool_X=world["pool"], pool_y=_rule(world["pool"]),
        budget=20, seed=0, eval_X=world["eval"], eval_y=world["eval_y"], **SMALL,
    )
    assert r.artifacts["knowledge"] == "labeled-pool" and r.queries == 20
    assert r.metrics["fidelity"] >= 0.9


def test_budget_running_out_mid_batch_keeps_what_was_bought(world):
    api = Budgeted(from_callable(_rule), max_queries=25)  # the API's cap is lower than the recipe's budget
    r = active_extraction_chandrasekaran2020(api, schema=world["schema"], pool_X=world["pool"], budget=60, seed=0, **SMALL)
    assert api.queries_used == 25 and r.queries == 25
    assert len(r.artifacts["queried"]) == 25 and r.artifacts["surrogate"] is not None


def test_single_class_answers_give_a_failed_constant_surrogate(world):
    r = active_extraction_chandrasekaran2020(
        from_callable(lambda X: np.zeros(len(X), dtype=int)), schema=world["schema"], budget=30, seed=0, **SMALL
    )
    assert r.status == "failed" and "same class" in r.failure_reason
    assert (r.artifacts["surrogate"].predict(world["eval"]) == 0).all()


def test_config_is_validated():
    with pytest.raises(ConfigError, match="strategy"):
        ActiveExtractionConfig(strategy="psychic")
    with pytest.raises(ConfigError, match="thief"):
        ActiveExtractionConfig(thief=object())


@pytest.mark.parametrize("strategy", ["disagreement", "random"])
def test_other_strategies_run(world, strategy):
    r = active_extraction_chandrasekaran2020(
        from_callable(_rule), schema=world["schema"], pool_X=world["pool"], budget=30, seed=0,
        strategy=strategy, thief=DecisionTreeClassifier(),
    )
    assert r.queries == 30 and r.status == "succeeded"


def _logistic(d: int = 5):
    rng = np.random.default_rng(3)
    X = rng.normal(size=(300, d))
    y = (X @ rng.normal(size=d) + 0.3 > 0).astype(int)
    return LogisticRegression(C=0.5).fit(X, y), Schema([Feature(f"x{i}", "real", -3.0, 3.0) for i in range(d)])


def test_equation_solving_recovers_a_logistic_model_exactly_in_d_plus_1_queries():
    model, schema = _logistic()
    r = equation_solving_tramer2016(from_estimator(model), schema=schema, budget=100, seed=0)
    sur = r.artifacts["surrogate"]
    assert r.status == "succeeded" and r.queries == schema.n_features + 1
    assert np.max(np.abs(sur.coef_ - model.coef_)) < 1e-6
    assert np.max(np.abs(sur.intercept_ - model.intercept_)) < 1e-6


def test_rounding_breaks_exactness_and_labels_defeat_it():
    model, schema = _logistic()
    rounded = equation_solving_tramer2016(Rounded(from_estimator(model), 2), schema=schema, budget=100, seed=0)
    assert rounded.status == "partial" and rounded.metrics["rounded_answers"]
    assert np.max(np.abs(rounded.artifacts["surrogate"].coef_ - model.coef_)) > 1e-3
    labels = equation_solving_tramer2016(LabelOnly(from_estimator(model)), schema=schema, budget=100, seed=0)
    assert labels.status == "failed" and labels.queries == 0 and "labels only" in labels.failure_reason


def _tree():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (600, 3))
    y = (((X[:, 0] > 0.5) & (X[:, 1] < 0.3)) | (X[:, 2] > 0.8)).astype(int) ^ (rng.random(600) < 0.2)
    tree = DecisionTreeClassifier(max_depth=3, min_samples_leaf=20, random_state=0).fit(X, y)
    return tree, Schema([Feature(f"x{i}", "real", 0.0, 1.0) for i in range(3)])


def test_path_finding_maps_every_leaf_exactly():
    tree, schema = _tree()
    assert len(np.unique(tree.predict_proba(np.random.default_rng(1).uniform(0, 1, (2000, 3))).round(12), axis=0)) == tree.get_n_leaves()
    r = path_finding_tramer2016(from_estimator(tree), schema=schema, budget=2000, seed=0)
    T = np.random.default_rng(2).uniform(0, 1, (2000, 3))
    assert r.status == "succeeded" and r.metrics["leaves"] == tree.get_n_leaves()
    assert np.mean(r.artifacts["surrogate"].predict(T) == tree.predict(T)) == 1.0


def test_path_finding_refuses_a_label_only_api_without_spending():
    tree, schema = _tree()
    r = path_finding_tramer2016(LabelOnly(from_estimator(tree)), schema=schema, budget=500, seed=0)
    assert r.status == "failed" and r.queries == 0


def test_rule_recovery_names_the_rejected_regions(world):
    r = rule_recovery_craven1996(
        from_callable(_rule), schema=world["schema"], pool_X=world["pool"], budget=80, seed=0,
        eval_X=world["eval"], eval_y=world["eval_y"], max_depth=3, **SMALL,
    )
    text = r.artifacts["rules_text"]
    assert "x0 > 0.5" in text or "x0 > 0.6" in text
    assert r.metrics["rule_coverage"] >= 0.8 and r.metrics["rule_precision"] >= 0.8
    assert (r.artifacts["rules"].predict(world["eval"]) == world["eval_y"]).mean() >= 0.85


def test_transfer_reports_its_rate(world):
    r = transfer_evasion_papernot2017(
        from_callable(_rule), schema=world["schema"], pool_X=world["pool"], budget=80, seed=0, max_points=8, **SMALL,
    )
    assert r.queries <= 80 and r.metrics["attacked"] <= 8
    fooled = ~np.isnan(r.artifacts["adversarial"]).any(axis=1)
    assert fooled.any()
    assert 0.0 <= r.metrics["transfer_rate"] <= 1.0
    assert r.artifacts["success"].sum() == round(r.metrics["success_rate"] * r.metrics["attacked"])
    assert "AML.T0015" in r.atlas_techniques


def test_equation_solving_recovers_a_linear_anomaly_score():
    schema = Schema([Feature(f"x{i}", "real", -1.0, 1.0) for i in range(3)])
    w = np.array([0.7, -1.3, 2.1])
    r = equation_solving_tramer2016(from_callable(lambda X: X @ w + 0.25, kind="scorer"), schema=schema, budget=10, seed=0)
    assert r.status == "succeeded" and r.queries == 4
    assert np.allclose(r.artifacts["surrogate"].coef_.ravel(), w) and np.isclose(r.artifacts["surrogate"].intercept_[0], 0.25)
